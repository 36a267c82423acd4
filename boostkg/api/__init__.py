"""The HTTP application: create_app(settings), routes, and the one error-to-HTTP mapping."""
