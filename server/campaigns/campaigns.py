"""Campaigns: creating them, their question sets, status, organisers; reading them.

Changing a campaign is for staff (admins and senior organisers). Status moves only
forward, DRAFT -> ACTIVE -> CLOSED, one step at a time: DRAFT -> CLOSED, any move back and
a move to the status it already has are userErrors (INVALID; ALREADY_DONE for the same
status) and change nothing. A CLOSED campaign's questions no longer change (CLOSED).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area, User
from server.audit.service import audit
from server.campaigns import access, questions
from server.campaigns.columns import CAMPAIGN_COLUMNS
from server.campaigns.enums import CampaignKind, CampaignStatus
from server.campaigns.models import Campaign, CampaignOrganiser, QuestionSet
from server.campaigns.templates import CAMPAIGN_ACTIVATED
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.core.pagination import Page, PageRequest, paginate
from server.core.validation import checked, collect, optional_text, required_text
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec
from server.outbox.models import OutboxMessage
from server.security.access import Actor

_CAMPAIGN = sa.select(*CAMPAIGN_COLUMNS).where(col(Campaign.id) == sa.bindparam("campaign_id"))
_ACTIVE_MEMBERS = sa.select(col(User.id)).where(
    col(User.id).in_(sa.bindparam("ids", expanding=True)),
    col(User.organisation_id) == sa.bindparam("organisation_id"),
    col(User.is_active).is_(True),
)
_AREA = sa.select(col(Area.id)).where(
    col(Area.id) == sa.bindparam("area_id"),
    col(Area.organisation_id) == sa.bindparam("organisation_id"),
)
_ORGANISER_IDS = sa.select(col(CampaignOrganiser.user_id)).where(
    col(CampaignOrganiser.campaign_id) == sa.bindparam("campaign_id")
)
_STAGED = sa.select(col(OutboxMessage.dedupe_key), col(OutboxMessage.payload)).where(
    col(OutboxMessage.dedupe_key).in_(sa.bindparam("keys", expanding=True))
)

_NEXT = {CampaignStatus.DRAFT: CampaignStatus.ACTIVE, CampaignStatus.ACTIVE: CampaignStatus.CLOSED}

# Campaign lists: by title, then id (unique), so pages never skip or repeat one.
ORDER = (col(Campaign.title), col(Campaign.id))


@dataclass(frozen=True)
class NewCampaign:
    kind: CampaignKind
    title: str
    description: str | None = None
    area_id: uuid.UUID | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    target_conversations: int | None = None
    organiser_ids: Sequence[uuid.UUID] = ()
    questions: Sequence[questions.QuestionData] = field(default_factory=tuple)


async def get_campaign(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID
) -> sa.Row[Any] | None:
    """The campaign (a row of CAMPAIGN_COLUMNS), or None when the actor cannot see it."""
    stmt = access.scope(_CAMPAIGN, actor)
    return (await session.execute(stmt, {"campaign_id": campaign_id})).one_or_none()


async def list_campaigns(
    session: AsyncSession,
    actor: Actor,
    page: PageRequest,
    *,
    mine: bool = False,
    statuses: Sequence[CampaignStatus] | None = None,
) -> Page[sa.Row[Any]]:
    """The campaigns the actor sees (staff: all of the organisation; others: those they
    are assigned to), ``mine`` only those assigned to the actor, by title."""
    stmt = access.scope(sa.select(*CAMPAIGN_COLUMNS), actor)
    if mine and access.sees_all(actor):  # scope() already narrows everyone else
        stmt = stmt.where(access.assigned(actor))
    if statuses is not None:
        stmt = stmt.where(col(Campaign.status).in_(list(dict.fromkeys(statuses))))
    return await paginate(session, stmt, ORDER, page)


async def _missing_members(
    session: AsyncSession, actor: Actor, user_ids: Sequence[uuid.UUID], field: str
) -> list[Problem]:
    """A NOT_FOUND problem at ``field.N`` for each id that is no active member of the
    actor's organisation (a member of another organisation is simply not there)."""
    if not user_ids:
        return []
    params = {"ids": list(set(user_ids)), "organisation_id": actor.organisation_id}
    found = set((await session.scalars(_ACTIVE_MEMBERS, params)).all())
    return [
        Problem(UserErrorCode.NOT_FOUND, "No such member.", f"{field}.{i}")
        for i, user_id in enumerate(user_ids)
        if user_id not in found
    ]


def _checked_details(data: NewCampaign, problems: list[Problem]) -> tuple[str | None, str | None]:
    title = checked(lambda: required_text(data.title, "input.title", "a title"), problems)
    description = checked(
        lambda: optional_text(data.description, "input.description", "a description", 5000),
        problems,
    )
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        problems.append(
            Problem(UserErrorCode.INVALID, "The end must not be before the start.", "input.endsOn")
        )
    if data.target_conversations is not None and data.target_conversations < 0:
        problems.append(
            Problem(
                UserErrorCode.INVALID,
                "The target must be zero or more.",
                "input.targetConversations",
            )
        )
    return title, description


async def create_campaign(session: AsyncSession, actor: Actor, data: NewCampaign) -> Campaign:
    """A DRAFT campaign with its organisers and version 1 of its questions (maybe none)."""
    access.require_staff(actor)
    problems: list[Problem] = []
    title, description = _checked_details(data, problems)
    stored = checked(
        lambda: questions.checked_questions(data.questions, "input.questions"), problems
    )
    if data.area_id is not None:
        params = {"area_id": data.area_id, "organisation_id": actor.organisation_id}
        if await session.scalar(_AREA, params) is None:
            problems.append(Problem(UserErrorCode.NOT_FOUND, "No such area.", "input.areaId"))
    organiser_ids = list(dict.fromkeys(data.organiser_ids))
    problems += await _missing_members(session, actor, data.organiser_ids, "input.organiserIds")
    collect(*problems)
    assert title is not None and stored is not None
    campaign = Campaign(
        organisation_id=actor.organisation_id,
        kind=data.kind,
        title=title,
        description=description,
        area_id=data.area_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        target_conversations=data.target_conversations,
    )
    session.add(campaign)
    await session.flush()
    session.add(questions.first_set(campaign, stored))
    session.add_all(
        CampaignOrganiser(campaign_id=campaign.id, user_id=user_id) for user_id in organiser_ids
    )
    audit(
        session,
        actor,
        "campaign.create",
        campaign,
        {"kind": data.kind.value, "organisers": len(organiser_ids), "questions": len(stored)},
    )
    await session.commit()
    return campaign


async def update_question_set(
    session: AsyncSession,
    actor: Actor,
    campaign_id: uuid.UUID,
    data: Sequence[questions.QuestionData],
) -> QuestionSet:
    """The campaign's questions replaced: in place while nothing answered the current
    version, otherwise as a new version that the campaign moves to."""
    access.require_staff(actor)
    campaign = await access.require_visible(session, actor, campaign_id, for_update=True)
    if campaign.status == CampaignStatus.CLOSED:
        raise UserError.of(
            UserErrorCode.CLOSED, "This campaign is closed: its questions stay.", "campaignId"
        )
    current = await questions.current_set(session, campaign)
    stored = questions.checked_questions(data, "questions", current.questions)
    result = questions.replace(session, campaign, current, stored)
    audit(
        session,
        actor,
        "campaign.questions_update",
        campaign,
        {"version": result.version, "questions": len(stored)},
    )
    await session.commit()
    return result


def _activation_spec(campaign: Campaign, user_ids: list[uuid.UUID], event_key: str) -> NotifySpec:
    return NotifySpec(
        organisation_id=campaign.organisation_id,
        user_ids=user_ids,
        template=CAMPAIGN_ACTIVATED,
        event_key=event_key,
        params={"campaign": campaign.title},
        link=f"/campaigns/{campaign.id}",
    )


def activation_key(campaign_id: uuid.UUID) -> str:
    return f"campaign.activated:{campaign_id}"


def assignment_key(campaign_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"campaign.assigned:{campaign_id}:{user_id}"


async def set_campaign_status(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, status: CampaignStatus
) -> Campaign:
    """One step forward; activating tells the assigned organisers (once)."""
    access.require_staff(actor)
    campaign = await access.require_visible(session, actor, campaign_id, "id", for_update=True)
    before = campaign.status
    if status == before:
        raise UserError.of(
            UserErrorCode.ALREADY_DONE, f"The campaign is already {status.value}.", "status"
        )
    if _NEXT.get(before) != status:
        raise UserError.of(
            UserErrorCode.INVALID,
            f"A {before.value} campaign cannot become {status.value}: campaigns go "
            "DRAFT, then ACTIVE, then CLOSED.",
            "status",
        )
    campaign.status = status
    now = utcnow()
    if status == CampaignStatus.ACTIVE:
        campaign.activated_at = now
        organisers = list(
            (await session.scalars(_ORGANISER_IDS, {"campaign_id": campaign.id})).all()
        )
        if organisers:
            spec = _activation_spec(campaign, sorted(organisers), activation_key(campaign.id))
            stage_notification(session, spec)
    else:
        campaign.closed_at = now
    session.add(campaign)
    audit(
        session,
        actor,
        "campaign.status_change",
        campaign,
        {"from": before.value, "to": status.value},
    )
    await session.commit()
    return campaign


async def _already_told(
    session: AsyncSession, campaign_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``user_ids`` whose activation message was already staged for this campaign
    (at activation, or when assigned before): a re-assigned organiser is not told twice."""
    keys = {f"notify:{assignment_key(campaign_id, u)}": u for u in user_ids}
    activation = f"notify:{activation_key(campaign_id)}"
    told: set[uuid.UUID] = set()
    for key, payload in await session.execute(_STAGED, {"keys": [activation, *keys]}):
        if key == activation:
            told.update(uuid.UUID(u) for u in payload.get("user_ids", ()))
        else:
            told.add(keys[key])
    return told


async def assign_organisers(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
) -> Campaign:
    """The campaign's organisers become exactly ``user_ids`` (active members of the
    organisation); on an ACTIVE campaign those newly added are told it is running."""
    access.require_staff(actor)
    campaign = await access.require_visible(session, actor, campaign_id, for_update=True)
    collect(*await _missing_members(session, actor, user_ids, "userIds"))
    wanted = list(dict.fromkeys(user_ids))
    before = set((await session.scalars(_ORGANISER_IDS, {"campaign_id": campaign.id})).all())
    added = [u for u in wanted if u not in before]
    removed = before - set(wanted)
    if removed:
        await session.execute(
            sa.delete(CampaignOrganiser).where(
                col(CampaignOrganiser.campaign_id) == campaign.id,
                col(CampaignOrganiser.user_id).in_(removed),
            )
        )
    session.add_all(CampaignOrganiser(campaign_id=campaign.id, user_id=u) for u in added)
    if added and campaign.status == CampaignStatus.ACTIVE:
        told = await _already_told(session, campaign.id, added)
        for user_id in added:
            if user_id not in told:
                spec = _activation_spec(campaign, [user_id], assignment_key(campaign.id, user_id))
                stage_notification(session, spec)
    audit(
        session,
        actor,
        "campaign.organisers_assign",
        campaign,
        {"added": len(added), "removed": len(removed), "organisers": len(wanted)},
    )
    await session.commit()
    return campaign
