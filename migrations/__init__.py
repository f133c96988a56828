"""Alembic migrations (async). Run them with `doorstep migrate`."""
