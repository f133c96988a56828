"""Invitations to answer a campaign, and the narrow public view a token opens.

Staff who manage a campaign (server/campaigns/access.py) make them: LINK gives ``count``
URLs to share or print; SMS and EMAIL are sent by the workers to the residents named, each
only with consent to be contacted again and the detail for that channel (any other is a
problem on its ``input.residentIds.N``, and the rest are still invited). The token travels
only in the URL or the message; the database keeps its hash.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Organisation
from server.audit.service import audit
from server.campaigns import access
from server.campaigns.enums import CampaignStatus
from server.campaigns.models import Campaign, QuestionSet, Resident
from server.core.enums import ChannelName
from server.core.errors import Problem, UserError, UserErrorCode
from server.core.models import utcnow
from server.core.settings import Settings
from server.core.validation import collect, uuid_or_none
from server.notifications.notify import stage_notification
from server.notifications.spec import NotifySpec, ResidentRecipient
from server.residents.enums import InvitationChannel
from server.residents.invitation_templates import INVITATION
from server.residents.models import DEFAULT_INVITATION_DAYS, Invitation, ResidentSettings
from server.residents.texts import standard_privacy_notice
from server.residents.tokens import hash_token, new_token, plausible
from server.security.access import Actor

MAX_INVITATIONS = 500
MAX_DAYS = 365


def invitation_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/r/{token}"


@dataclass(frozen=True)
class InvitationsData:
    campaign_id: uuid.UUID
    channel: InvitationChannel
    count: int | None = None
    # As sent: a malformed id is a NOT_FOUND problem at its index, like an unknown one.
    resident_ids: Sequence[str] | None = None
    expires_in_days: int | None = None


@dataclass(frozen=True)
class CreatedInvitations:
    """The invitations made, each with its URL (None for SMS and EMAIL: the token is only
    in the message), and the residents that could not be invited."""

    invitations: list[tuple[Invitation, str | None]]
    problems: list[Problem]


def _invalid(message: str, field: str) -> Problem:
    return Problem(UserErrorCode.INVALID, message, field)


def _checked_days(days: int | None) -> int:
    days = DEFAULT_INVITATION_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise UserError(_invalid(f"Choose 1 to {MAX_DAYS} days.", "input.expiresInDays"))
    return days


def _checked_shape(data: InvitationsData) -> int:
    """How many LINK invitations to make (0 for SMS and EMAIL)."""
    if data.channel is InvitationChannel.LINK:
        count = 1 if data.count is None else data.count
        collect(
            _invalid("A link is for anyone: name residents with SMS or EMAIL.", "input.residentIds")
            if data.resident_ids
            else None,
            _invalid(f"Make 1 to {MAX_INVITATIONS} links at a time.", "input.count")
            if not 1 <= count <= MAX_INVITATIONS
            else None,
        )
        return count
    ids = list(data.resident_ids or ())
    collect(
        _invalid("count is for LINK invitations only.", "input.count")
        if data.count is not None
        else None,
        Problem(UserErrorCode.REQUIRED, "Name the residents to invite.", "input.residentIds")
        if not ids
        else None,
        _invalid(f"Invite at most {MAX_INVITATIONS} residents at a time.", "input.residentIds")
        if len(ids) > MAX_INVITATIONS
        else None,
    )
    return 0


def _address(resident: Resident, channel: InvitationChannel) -> str | None:
    return resident.email if channel is InvitationChannel.EMAIL else resident.phone


def _reachable(
    data: InvitationsData, found: dict[uuid.UUID, Resident]
) -> tuple[list[tuple[Resident, str]], list[Problem]]:
    """The residents to message, with their address; a problem for each other one."""
    chosen: list[tuple[Resident, str]] = []
    problems: list[Problem] = []
    seen: set[uuid.UUID] = set()
    detail = "email address" if data.channel is InvitationChannel.EMAIL else "phone number"
    for i, raw in enumerate(data.resident_ids or ()):
        at = f"input.residentIds.{i}"
        resident_id = uuid_or_none(raw)
        resident = found.get(resident_id) if resident_id else None
        if resident is None:
            problems.append(Problem(UserErrorCode.NOT_FOUND, "No such resident.", at))
        elif resident.id in seen:
            problems.append(_invalid("This resident is named twice.", at))
        elif not resident.contact_again:
            problems.append(
                Problem(
                    UserErrorCode.FORBIDDEN,
                    "This resident has not agreed to be contacted again.",
                    at,
                )
            )
        elif not (address := _address(resident, data.channel)):
            problems.append(_invalid(f"This resident gave no {detail}.", at))
        else:
            seen.add(resident.id)
            chosen.append((resident, address))
    return chosen, problems


async def _residents(
    session: AsyncSession, organisation_id: uuid.UUID, raw_ids: Sequence[str]
) -> dict[uuid.UUID, Resident]:
    """The organisation's residents (not erased) among these ids, in one statement."""
    ids = sorted({i for i in (uuid_or_none(r) for r in raw_ids) if i is not None})
    if not ids:
        return {}
    rows = await session.scalars(
        sa.select(Resident).where(
            col(Resident.id).in_(ids),
            col(Resident.organisation_id) == organisation_id,
            col(Resident.erased_at).is_(None),
        )
    )
    return {r.id: r for r in rows}


async def create_invitations(
    session: AsyncSession, settings: Settings, actor: Actor, data: InvitationsData
) -> CreatedInvitations:
    """Staff of the campaign: make the invitations (the caller commits). A CLOSED campaign
    takes none."""
    access.require_staff(actor)
    campaign = await access.require_visible(session, actor, data.campaign_id, "input.campaignId")
    if campaign.status is CampaignStatus.CLOSED:
        raise UserError.of(
            UserErrorCode.CLOSED, "This campaign is closed to responses.", "input.campaignId"
        )
    days = _checked_days(data.expires_in_days)
    count = _checked_shape(data)
    expires_at = utcnow() + timedelta(days=days)

    def new(resident: Resident | None) -> tuple[Invitation, str]:
        token, digest = new_token()
        invitation = Invitation(
            organisation_id=actor.organisation_id,
            campaign_id=campaign.id,
            channel=data.channel,
            token_hash=digest,
            resident_id=resident.id if resident else None,
            created_by_id=actor.user_id,
            expires_at=expires_at,
        )
        return invitation, invitation_url(settings, token)

    problems: list[Problem] = []
    chosen: list[tuple[Resident, str]] = []
    if data.channel is InvitationChannel.LINK:
        made = [new(None) for _ in range(count)]
    else:
        found = await _residents(session, actor.organisation_id, data.resident_ids or ())
        chosen, problems = _reachable(data, found)
        made = [new(resident) for resident, _ in chosen]
    session.add_all([i for i, _ in made])
    if data.channel is not InvitationChannel.LINK and made:
        messages = [(r, address, url) for (r, address), (_, url) in zip(chosen, made, strict=True)]
        await _send(session, campaign, data.channel, messages, expires_at)
    audit(
        session,
        actor,
        "invitations.create",
        campaign,
        {"channel": data.channel.value, "invited": len(made), "refused": len(problems)},
    )
    await session.flush()
    shown = data.channel is InvitationChannel.LINK
    return CreatedInvitations([(i, url if shown else None) for i, url in made], problems)


async def _send(
    session: AsyncSession,
    campaign: Campaign,
    channel: InvitationChannel,
    messages: list[tuple[Resident, str, str]],
    expires_at: datetime,
) -> None:
    """One staged event for the batch (resident, address, link): each resident gets their
    own link."""
    organisation = await session.get(Organisation, campaign.organisation_id)
    assert organisation is not None
    by = ChannelName.EMAIL if channel is InvitationChannel.EMAIL else ChannelName.SMS
    stage_notification(
        session,
        NotifySpec(
            organisation_id=campaign.organisation_id,
            user_ids=[],
            template=INVITATION,
            event_key=f"invitations:{campaign.id}:{uuid.uuid4()}",
            params={
                "organisation": organisation.name,
                "campaign": campaign.title,
                "expires": f"{expires_at.day} {expires_at:%B %Y}",
            },
            residents=[
                ResidentRecipient(resident.id, by, address, params={"url": url}, link=url)
                for resident, address, url in messages
            ],
        ),
    )


# --- the public view -------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    campaign_title: str
    campaign_description: str | None
    organisation_name: str
    question_set_version: int
    questions: list[dict[str, Any]]
    privacy_notice: str
    already_responded: bool
    expires_at: datetime
    # The campaign no longer takes responses (the page says so before anyone answers).
    closed: bool = False


async def live_invitation(
    session: AsyncSession, token: str, now: datetime | None = None
) -> Invitation | None:
    """The invitation of a token that has not expired; None for anything else."""
    if not plausible(token):
        return None
    stmt = sa.select(Invitation).where(
        col(Invitation.token_hash) == hash_token(token),
        col(Invitation.expires_at) > (now or utcnow()),
    )
    found: Invitation | None = (await session.scalars(stmt)).one_or_none()
    return found


_VIEW = (
    sa.select(
        col(Campaign.title),
        col(Campaign.description),
        col(Campaign.status),
        col(Organisation.name).label("organisation_name"),
        col(QuestionSet.version),
        col(QuestionSet.questions),
        col(ResidentSettings.privacy_notice),
    )
    .join(Organisation, col(Organisation.id) == col(Campaign.organisation_id))
    .join(
        QuestionSet,
        sa.and_(
            col(QuestionSet.campaign_id) == col(Campaign.id),
            col(QuestionSet.version) == col(Campaign.question_set_version),
        ),
    )
    .outerjoin(
        ResidentSettings, col(ResidentSettings.organisation_id) == col(Campaign.organisation_id)
    )
    .where(col(Campaign.id) == sa.bindparam("campaign_id"))
)


async def open_invitation(
    session: AsyncSession, token: str, now: datetime | None = None
) -> OpenInvitation | None:
    """What a resident with this token may see: the campaign's title and description, the
    organisation's name, the current questions and the privacy notice (two statements).
    None for an unknown or expired token, the same for both. A closed campaign's
    invitation still opens (responding to it is CLOSED)."""
    invitation = await live_invitation(session, token, now)
    if invitation is None:
        return None
    row = (await session.execute(_VIEW, {"campaign_id": invitation.campaign_id})).one()
    return OpenInvitation(
        invitation=invitation,
        campaign_title=row.title,
        campaign_description=row.description,
        organisation_name=row.organisation_name,
        question_set_version=row.version,
        questions=list(row.questions),
        privacy_notice=row.privacy_notice or standard_privacy_notice(row.organisation_name),
        already_responded=invitation.responded_at is not None,
        expires_at=invitation.expires_at,
        closed=row.status is CampaignStatus.CLOSED,
    )
