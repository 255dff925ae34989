"""Approval requests: who may ask and decide, the two-person rule, drift checks and running what was approved."""

from app.services.approvals import status
from app.services.approvals.break_glass import break_glass, review
from app.services.approvals.confirmation import confirmation_text, needs_typing
from app.services.approvals.eligibility import approvers_seen_by
from app.services.approvals.notices import count_news, is_news, mark_seen, news_for
from app.services.approvals.policy import ApprovalPolicy
from app.services.approvals.queries import (
    NEEDS_REVIEW,
    OPEN_STATUSES,
    STATUSES,
    RequestView,
    list_requests,
    request_answer,
    request_view,
    request_views,
    waiting_for,
)
from app.services.approvals.rules import Facts
from app.services.approvals.service import (
    ASKED_AGAIN_FROM,
    ApprovalService,
    RequestedChange,
)
from app.services.approvals.state_changes import differences

__all__ = [
    "ASKED_AGAIN_FROM",
    "ApprovalPolicy",
    "ApprovalService",
    "approvers_seen_by",
    "Facts",
    "NEEDS_REVIEW",
    "OPEN_STATUSES",
    "RequestView",
    "RequestedChange",
    "STATUSES",
    "break_glass",
    "confirmation_text",
    "count_news",
    "is_news",
    "differences",
    "list_requests",
    "request_answer",
    "mark_seen",
    "needs_typing",
    "news_for",
    "request_view",
    "request_views",
    "review",
    "status",
    "waiting_for",
]
