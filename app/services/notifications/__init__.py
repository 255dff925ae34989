"""Notifications: an outbox written with each change, delivered to Apprise URLs and a signed webhook."""

from app.services.notifications.outbox import Audience, Notifier

__all__ = ["Audience", "Notifier"]
