"""Use cases: what the web pages and the JSON API ask for, independent of either."""
