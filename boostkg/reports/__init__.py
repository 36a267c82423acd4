"""Reports for people: plain data models, builders, Jinja2 templates and SVG charts."""
