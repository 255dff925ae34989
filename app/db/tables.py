"""Import every table module so SQLModel.metadata knows the whole schema (Alembic, tests)."""

from app.db import approvals, audit, executions, ips, models, observed

__all__ = ["approvals", "audit", "executions", "ips", "models", "observed"]
