"""What the pages (app.web) and the JSON API (app.api) share: CSRF checks, query filters, list paging."""
