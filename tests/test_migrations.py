"""The Alembic migrations build exactly the schema that the models describe, both ways.

Each test migrates a fresh database of its own (not the session's shared one), on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from server.cli.migrate import alembic_config, downgrade, pending_model_changes, upgrade
from server.core.db import create_engine
from tests.conftest import PG_ADMIN_URL, _asyncpg_dsn


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = make_url(PG_ADMIN_URL)
    name = f"doorstep_migrate_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(_asyncpg_dsn(admin))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def revisions() -> list[str]:
    """Every revision from the first to head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def head() -> str:
    return revisions()[-1]


MODEL_TABLES = set(SQLModel.metadata.tables)


async def test_upgrade_head_matches_the_models(fresh_url: str) -> None:
    await upgrade(fresh_url)
    assert await current_revision(fresh_url) == head()
    assert await table_names(fresh_url) == MODEL_TABLES | {"alembic_version"}
    assert await pending_model_changes(fresh_url) == []


async def test_downgrade_to_base_and_upgrade_again(fresh_url: str) -> None:
    await upgrade(fresh_url)
    await downgrade(fresh_url, "base")
    assert await current_revision(fresh_url) is None
    assert await table_names(fresh_url) <= {"alembic_version"}

    await upgrade(fresh_url)
    assert await current_revision(fresh_url) == head()
    assert await pending_model_changes(fresh_url) == []


async def test_every_revision_steps_down_and_up(fresh_url: str) -> None:
    steps = revisions()
    assert len(steps) >= 2
    for revision in steps:
        await upgrade(fresh_url, revision)
        assert await current_revision(fresh_url) == revision
    for expected in reversed([None, *steps[:-1]]):
        await downgrade(fresh_url, "-1")
        assert await current_revision(fresh_url) == expected
    await upgrade(fresh_url)
    assert await pending_model_changes(fresh_url) == []


async def test_the_check_notices_a_difference(fresh_url: str) -> None:
    """pending_model_changes is not vacuous: a missing index shows up."""
    await upgrade(fresh_url)

    def added_indexes(changes: list[Any]) -> list[str]:
        return [c[1].name for c in changes if isinstance(c, tuple) and c[0] == "add_index"]

    assert "ix_audit_org_time" not in added_indexes(await pending_model_changes(fresh_url))
    engine = create_engine(fresh_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP INDEX ix_audit_org_time"))
    finally:
        await engine.dispose()
    assert "ix_audit_org_time" in added_indexes(await pending_model_changes(fresh_url))


async def _unique_names(url: str) -> set[tuple[str, str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:

            def names(sync_conn: Any) -> set[tuple[str, str]]:
                inspector = sa.inspect(sync_conn)
                return {
                    (table, str(u["name"]))
                    for table in inspector.get_table_names()
                    for u in inspector.get_unique_constraints(table)
                }

            return await conn.run_sync(names)
    finally:
        await engine.dispose()


MODEL_UNIQUES = {
    (table.name, str(c.name))
    for table in SQLModel.metadata.tables.values()
    for c in table.constraints
    if isinstance(c, sa.UniqueConstraint)
}


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
async def test_unique_constraints_carry_the_models_names(fresh_url: str) -> None:
    """server.core.conflicts reads these names on PostgreSQL (SQLite reports columns).

    A new database has them from the start (Alembic applies the models' naming convention);
    one made before 0006 has PostgreSQL's own names, which 0006 renames (and its downgrade
    gives back)."""
    await upgrade(fresh_url)
    assert await _unique_names(fresh_url) == MODEL_UNIQUES
    await downgrade(fresh_url, "0005")
    older = await _unique_names(fresh_url)
    assert ("users", "users_email_key") in older and not older & MODEL_UNIQUES
    # Tables added after 0006 are made with the models' names; those before had their own.
    before_0006 = await table_names(fresh_url)
    assert len(older) == len({u for u in MODEL_UNIQUES if u[0] in before_0006})
    await upgrade(fresh_url)
    assert await _unique_names(fresh_url) == MODEL_UNIQUES


async def test_0008_counts_the_tallies_of_campaigns_made_before_it(fresh_url: str) -> None:
    """A database with conversations from before the tallies gets them counted, so its
    reports read the same after the upgrade."""
    from datetime import UTC, datetime

    from server.accounts.models import Organisation, User
    from server.campaigns.enums import CampaignKind
    from server.campaigns.models import Campaign, CampaignTally, Conversation
    from server.campaigns.tallies import NIL
    from server.core.enums import Role

    await upgrade(fresh_url, "0007")
    engine = create_engine(fresh_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            org = Organisation(name="Before the tallies")
            session.add(org)
            await session.flush()
            user = User(
                organisation_id=org.id, email="o@before.test", display_name="O", role=Role.ADMIN
            )
            campaign = Campaign(organisation_id=org.id, kind=CampaignKind.LISTENING, title="Old")
            session.add_all([user, campaign])
            await session.flush()
            session.add_all(
                Conversation(
                    organisation_id=org.id,
                    campaign_id=campaign.id,
                    organiser_id=user.id,
                    content_hash="x",
                    occurred_at=datetime(2026, 11, 30, tzinfo=UTC),
                    question_set_version=1,
                    wants_involvement=i == 0,
                )
                for i in range(3)
            )
            await session.commit()
        await upgrade(fresh_url)
        async with AsyncSession(engine) as session:
            found = {
                (t.kind, t.value): t.n
                for t in await session.scalars(
                    sa.select(CampaignTally).where(col(CampaignTally.ref) == NIL)
                )
            }
    finally:
        await engine.dispose()
    assert found == {("CONVERSATIONS", ""): 3, ("INVOLVED", ""): 1, ("WEEK", "2026-11-30"): 3}
