"""Import every table module so SQLModel.metadata knows the whole schema (Alembic, tests)."""

from app.db import approvals, audit, batches, executions, ips, models, observed

__all__ = ["approvals", "audit", "batches", "executions", "ips", "models", "observed"]
