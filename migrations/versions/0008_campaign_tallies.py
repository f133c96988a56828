"""campaign tallies: running counts behind the campaign report

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:20:00.000000

Existing campaigns get their tallies from their rows (the same statement as
``server.campaigns.tallies.rebuild``), so a report reads the same before and after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_tallies',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('ref', sa.Uuid(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'kind', 'version', 'ref', 'value')
    )
    _backfill()


def _backfill() -> None:
    from server.campaigns.tallies import rebuild_statement

    bind = op.get_bind()
    campaigns = bind.execute(sa.text('SELECT id FROM campaigns').columns(id=sa.Uuid())).scalars().all()
    stmt = rebuild_statement(bind.dialect.name)
    for campaign_id in campaigns:
        bind.execute(stmt, {'campaign_id': campaign_id})


def downgrade() -> None:
    op.drop_table('campaign_tallies')
