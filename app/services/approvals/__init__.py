"""Approval requests: who may ask and decide, the two-person rule, drift checks and running what was approved."""

from app.services.approvals import status
from app.services.approvals.policy import ApprovalPolicy
from app.services.approvals.queries import OPEN_STATUSES, STATUSES, list_requests, request_view, waiting_for
from app.services.approvals.service import ApprovalService, RequestedChange, confirmation_text, needs_typing
from app.services.approvals.state_changes import differences

__all__ = [
    "ApprovalPolicy",
    "ApprovalService",
    "OPEN_STATUSES",
    "RequestedChange",
    "STATUSES",
    "confirmation_text",
    "differences",
    "list_requests",
    "needs_typing",
    "request_view",
    "status",
    "waiting_for",
]
