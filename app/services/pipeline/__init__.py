"""The action pipeline: plan an operation, perform it now or once approved, follow its task to the end."""

from app.services.pipeline import keys
from app.services.pipeline.actions import ActionService, Plan, first_error
from app.services.pipeline.form_errors import field_errors
from app.services.pipeline.gate import Gate, Submitted, forget_old_keys
from app.services.pipeline.policy_check import PolicyAnswer, answer_for
from app.services.pipeline.staging import GRACE_SECONDS, discard, held, stage_file, sweep_staging
from app.services.pipeline.task_origin import requested_by
from app.services.pipeline.task_watch import TaskWatcher

__all__ = [
    "GRACE_SECONDS",
    "ActionService",
    "Gate",
    "Plan",
    "PolicyAnswer",
    "Submitted",
    "TaskWatcher",
    "answer_for",
    "discard",
    "field_errors",
    "first_error",
    "forget_old_keys",
    "held",
    "keys",
    "requested_by",
    "stage_file",
    "sweep_staging",
]
