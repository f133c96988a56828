"""stable unique constraint names: uq_<table>_<columns> (PostgreSQL)

The models name unique constraints by a naming convention (server/core/models.py), and
server/core/conflicts.py reads the name of the one a race violated. PostgreSQL databases
made before the convention have PostgreSQL's names (<table>_<columns>_key): rename them
(a new database has the convention's names already: Alembic applies the target
metadata's convention in 0001 and 0002). SQLite does not report a constraint's name (its
error lists the columns), so nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every unique constraint at this revision: (table, columns).
UNIQUES: list[tuple[str, list[str]]] = [
    ('organisations', ['name']),
    ('outbox', ['dedupe_key']),
    ('areas', ['organisation_id', 'parent_id', 'name']),
    ('users', ['email']),
    ('action_tokens', ['token_hash']),
    ('devices', ['provider', 'token']),
    ('notification_preferences', ['user_id']),
    ('notifications', ['dedupe_key']),
    ('refresh_tokens', ['token_hash']),
    ('deliveries', ['notification_id', 'channel', 'address']),
]


def _rename_all(name_for: Callable[[str, list[str]], str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    inspector = sa.inspect(bind)
    for table, columns in UNIQUES:
        wanted = name_for(table, columns)
        for constraint in inspector.get_unique_constraints(table):
            if constraint['column_names'] == columns and constraint['name'] != wanted:
                op.execute(
                    f'ALTER TABLE "{table}" RENAME CONSTRAINT "{constraint["name"]}" TO "{wanted}"'
                )


def upgrade() -> None:
    _rename_all(lambda table, columns: f"uq_{table}_{'_'.join(columns)}")


def downgrade() -> None:
    _rename_all(lambda table, columns: f"{table}_{'_'.join(columns)}_key")
