"""Programmes and their competency frameworks: creating them (admins) and reading them
(admins, trainers and senior organisers of the organisation)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.service import audit
from server.core.errors import Problem, UserErrorCode
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import checked, collect, required_text
from server.security.access import Actor
from server.training import access
from server.training.columns import PROGRAMME_COLUMNS
from server.training.models import Competency, Programme

MAX_COMPETENCIES = 100
ORDER = (col(Programme.name), col(Programme.id))


@dataclass(frozen=True)
class CompetencyData:
    code: str
    title: str


@dataclass(frozen=True)
class NewProgramme:
    name: str
    target_trainees: int
    target_date: date
    target_conversations_per_trainee: int | None
    competencies: Sequence[CompetencyData]


def _competency(
    item: CompetencyData, at: str, problems: list[Problem]
) -> tuple[str | None, str | None]:
    code = checked(lambda: required_text(item.code, f"{at}.code", "a code", 50), problems)
    title = checked(lambda: required_text(item.title, f"{at}.title", "a title"), problems)
    return code, title


def _competencies(items: Sequence[CompetencyData], problems: list[Problem]) -> list[CompetencyData]:
    """The competencies, checked and trimmed; codes unique (ignoring case)."""
    if len(items) > MAX_COMPETENCIES:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                f"A programme has at most {MAX_COMPETENCIES} competencies.",
                "input.competencies",
            )
        )
        return []
    found: list[CompetencyData] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        at = f"input.competencies.{i}"
        code, title = _competency(item, at, problems)
        if code is not None and code.lower() in seen:
            problems.append(Problem(UserErrorCode.INVALID, "Each code is used once.", f"{at}.code"))
        elif code is not None and title is not None:
            seen.add(code.lower())
            found.append(CompetencyData(code=code, title=title))
    return found


async def create_programme(session: AsyncSession, actor: Actor, data: NewProgramme) -> Programme:
    """A programme with its competencies, in the order given (codes unique in it)."""
    access.require_admin(actor)
    problems: list[Problem] = []
    name = checked(lambda: required_text(data.name, "input.name", "a name"), problems)
    if data.target_trainees < 0:
        problems.append(
            Problem(
                UserErrorCode.INVALID, "The target must be zero or more.", "input.targetTrainees"
            )
        )
    target = data.target_conversations_per_trainee
    if target is not None and target < 0:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                "The target must be zero or more.",
                "input.targetConversationsPerTrainee",
            )
        )
    competencies = _competencies(data.competencies, problems)
    collect(*problems)
    assert name is not None
    programme = Programme(
        organisation_id=actor.organisation_id,
        name=name,
        target_trainees=data.target_trainees,
        target_date=data.target_date,
        target_conversations_per_trainee=target,
        created_by_id=actor.user_id,
    )
    session.add(programme)
    await session.flush()
    session.add_all(
        Competency(
            organisation_id=actor.organisation_id,
            programme_id=programme.id,
            position=i,
            code=c.code,
            title=c.title,
        )
        for i, c in enumerate(competencies)
    )
    audit(session, actor, "programme.create", programme, {"competencies": len(competencies)})
    await session.commit()
    return programme


_PROGRAMME = sa.select(*PROGRAMME_COLUMNS).where(col(Programme.id) == sa.bindparam("programme_id"))


async def get_programme(
    session: AsyncSession, actor: Actor, programme_id: uuid.UUID
) -> sa.Row[Any] | None:
    stmt = _PROGRAMME.where(*access.programmes_visible(actor))
    return (await session.execute(stmt, {"programme_id": programme_id})).one_or_none()


async def list_programmes(
    session: AsyncSession, actor: Actor, page: PageRequest
) -> Page[sa.Row[Any]]:
    stmt = sa.select(*PROGRAMME_COLUMNS).where(*access.programmes_visible(actor))
    return await paginate(session, stmt, ORDER, page)
