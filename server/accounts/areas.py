"""Areas: the places an organisation works in, nested ward > estate > street."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area
from server.audit.service import audit
from server.core.errors import Problem, UserError, UserErrorCode, not_found
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import checked, collect, optional_text, required_text
from server.security.access import STAFF, Actor

T = TypeVar("T")

# An outward code or a prefix of one: "E", "E1", "SW1A", "M13 9".
_POSTCODE_PREFIX = re.compile(r"^[A-Z]{1,2}([0-9][0-9A-Z]?)?( ?[0-9][A-Z]{0,2})?$")


@dataclass(frozen=True)
class NewArea:
    name: str
    kind: str | None = None
    parent_id: uuid.UUID | None = None
    postcode_prefixes: list[str] | None = None


def _normalise_prefixes(prefixes: list[str] | None, problems: list[Problem]) -> list[str]:
    cleaned: list[str] = []
    for i, prefix in enumerate(prefixes or []):
        value = " ".join(prefix.upper().split())
        if not _POSTCODE_PREFIX.match(value):
            problems.append(
                Problem(
                    UserErrorCode.INVALID,
                    f"'{prefix}' is not the start of a UK postcode.",
                    f"input.postcodePrefixes.{i}",
                )
            )
        elif value not in cleaned:
            cleaned.append(value)
    return cleaned


# What the API shows of an area: reads select these, as plain rows (no tracked objects).
AREA_COLUMNS: tuple[Any, ...] = (
    col(Area.id),
    col(Area.parent_id),
    col(Area.name),
    col(Area.kind),
    col(Area.postcode_prefixes),
)


async def list_areas(session: AsyncSession, actor: Actor, page: PageRequest) -> Page[sa.Row[Any]]:
    stmt = sa.select(*AREA_COLUMNS).where(col(Area.organisation_id) == actor.organisation_id)
    return await paginate(session, stmt, [col(Area.name), col(Area.id)], page)


async def get_area(session: AsyncSession, actor: Actor, area_id: uuid.UUID) -> Area | None:
    area = await session.get(Area, area_id)
    return area if area and area.organisation_id == actor.organisation_id else None


async def create_area(session: AsyncSession, actor: Actor, data: NewArea) -> Area:
    actor.require(*STAFF)
    problems: list[Problem] = []
    name = checked(lambda: required_text(data.name, "input.name", "a name"), problems)
    kind = checked(lambda: optional_text(data.kind, "input.kind", "a kind", 50), problems)
    prefixes = _normalise_prefixes(data.postcode_prefixes, problems)
    collect(*problems)
    assert name is not None
    if data.parent_id is not None and await get_area(session, actor, data.parent_id) is None:
        raise not_found("area", "input.parentId")
    duplicate = await session.scalar(
        sa.select(col(Area.id)).where(
            col(Area.organisation_id) == actor.organisation_id,
            col(Area.parent_id) == data.parent_id
            if data.parent_id
            else col(Area.parent_id).is_(None),
            sa.func.lower(Area.name) == name.lower(),
        )
    )
    if duplicate is not None:
        raise UserError.of(
            UserErrorCode.INVALID, "An area with this name already exists here.", "input.name"
        )
    area = Area(
        organisation_id=actor.organisation_id,
        parent_id=data.parent_id,
        name=name,
        kind=kind,
        postcode_prefixes=prefixes,
    )
    session.add(area)
    audit(session, actor, "area.create", area, {"name": name})
    await session.commit()
    return area
