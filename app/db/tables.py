"""Import every table module so SQLModel.metadata knows the whole schema (Alembic, tests)."""

from app.db import audit, models, watches

__all__ = ["audit", "models", "watches"]
