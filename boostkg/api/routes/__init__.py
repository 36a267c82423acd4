"""HTTP routes, one module per resource; thin: parse the request, call the library, respond."""
