"""Batches: one operation asked of many guests (bulk actions, emptying a node), run a few at a time, followed."""

from app.services.batches.checks import BULK_OPERATIONS, MAX_ITEMS
from app.services.batches.choices import BulkChoices
from app.services.batches.service import BatchService
from app.services.batches.store import BatchItem
from app.services.batches.tagging import TAG, TAG_LABEL
from app.services.batches.views import ITEM_STATUSES, BatchItemView, BatchSummary, BatchView

__all__ = [
    "BULK_OPERATIONS",
    "ITEM_STATUSES",
    "MAX_ITEMS",
    "TAG",
    "TAG_LABEL",
    "BatchItem",
    "BatchItemView",
    "BatchService",
    "BatchSummary",
    "BatchView",
    "BulkChoices",
]
