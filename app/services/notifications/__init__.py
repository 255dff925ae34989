"""Notifications: an outbox written with each change, delivered to Apprise URLs and a signed webhook."""
