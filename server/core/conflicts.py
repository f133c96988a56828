"""Which integrity errors mean "someone else got there first".

A domain function checks before it writes (the email is free, no area of that name here);
two requests at once can both pass the check, and then a unique constraint stops the
second. Only the constraints named here are such races: the caller gets CONFLICT and can
simply retry. Any other IntegrityError (a foreign key, NOT NULL, a clash of outbox dedupe
keys, a unique constraint not listed) is a bug and is reported as an unexpected error.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


@dataclass(frozen=True)
class Conflict:
    field: str | None
    message: str


# Constraint name (the naming convention in server/core/models.py) -> what the caller sees.
CONFLICTS: dict[str, Conflict] = {
    "uq_users_email": Conflict(
        "input.email",
        "Someone else added this email address at the same moment. Reload and try again.",
    ),
    "uq_areas_organisation_id_parent_id_name": Conflict(
        "input.name",
        "Someone else added an area with this name here at the same moment. Reload and try again.",
    ),
    "uq_notification_preferences_user_id": Conflict(
        None, "Your preferences were saved elsewhere at the same moment. Reload and try again."
    ),
    "uq_enrolments_cohort_id_trainee_id": Conflict(
        "input.userId",
        "Someone else enrolled this person at the same moment. Reload and try again.",
    ),
    "uq_sign_offs_enrolment_id_competency_id": Conflict(
        "input.competencyId",
        "Someone else signed this off at the same moment. Reload and try again.",
    ),
    "uq_organisations_name": Conflict(
        "organisation", "Someone else created an organisation with this name at the same moment."
    ),
}


def _unique_names_by_columns() -> dict[tuple[str, frozenset[str]], str]:
    """(table, columns) -> name of each unique constraint and unique index of the models."""
    names: dict[tuple[str, frozenset[str]], str] = {}
    for table in SQLModel.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint) and isinstance(constraint.name, str):
                names[(table.name, frozenset(c.name for c in constraint.columns))] = constraint.name
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                names[(table.name, frozenset(c.name for c in index.columns))] = index.name
    return names


def violated_unique(error: IntegrityError) -> str | None:
    """The name of the models' unique constraint (or unique index) that ``error`` reports,
    or None for any other error, a primary key's included.

    PostgreSQL (asyncpg) names the constraint; SQLite lists its columns
    ("UNIQUE constraint failed: areas.organisation_id, areas.parent_id, areas.name"),
    which are looked up among the models' constraints.
    """
    orig = error.orig
    if getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION:
        cause = orig.__cause__ if orig is not None else None
        name = getattr(cause, "constraint_name", None)  # asyncpg's own exception
        return name if name in _unique_names_by_columns().values() else None
    if isinstance(orig, sqlite3.IntegrityError):
        match = _SQLITE_UNIQUE.match(str(orig))
        if match is None:
            return None
        qualified = [part.strip().partition(".") for part in match.group(1).split(",")]
        tables = {table for table, _, _ in qualified}
        if len(tables) != 1:
            return None
        columns = frozenset(column for _, _, column in qualified)
        return _unique_names_by_columns().get((tables.pop(), columns))
    return None


def conflict_for(error: IntegrityError) -> Conflict | None:
    """What to tell the caller when ``error`` is a race that a retry resolves, else None."""
    name = violated_unique(error)
    return CONFLICTS.get(name) if name else None
