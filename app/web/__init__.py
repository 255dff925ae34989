"""HTML pages and HTMX partials."""
