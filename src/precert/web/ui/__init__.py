"""Server-rendered pages: the "Check a service" form and its answer (Jinja2, no JavaScript)."""
