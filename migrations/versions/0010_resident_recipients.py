"""notifications.resident_id: residents (no account) as recipients of email and SMS

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_resident_id'))
        batch_op.drop_column('resident_id')
