"""The demo organisation's listening campaign (``doorstep seed-demo``), so a newcomer sees
a real report in GraphiQL: conversations over several weeks with answers and themes,
residents who consented (with their consent ledger), open follow-ups and an event.

Rows are inserted directly, as conversation sync stores them, and the report's tallies
counted from them. Idempotent: nothing is added
when the organisation already has the campaign. The figures are fixed (a seeded random),
the dates relative to today.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.accounts.models import Area, User
from server.campaigns.enums import (
    CampaignKind,
    CampaignStatus,
    ConsentKind,
    ConsentMethod,
    EventKind,
    QuestionKind,
    RsvpStatus,
)
from server.campaigns.models import (
    Answer,
    AnswerChoice,
    Campaign,
    CampaignOrganiser,
    CampaignTheme,
    Consent,
    Conversation,
    ConversationTheme,
    Event,
    EventRsvp,
    FollowUp,
    QuestionSet,
    Resident,
    Theme,
)
from server.campaigns.tallies import rebuild
from server.campaigns.themes import theme_key
from server.core.models import utcnow

DEMO_CAMPAIGN = "Mill Lane listening"
CONVERSATIONS = 36
WEEKS = 6

THEMES = ("Damp and mould", "Bins", "Parking", "Youth services", "Street lighting", "Rent rises")
CONCERNS = ["Damp and mould", "Bins", "Parking", "Youth services", "Street lighting"]
DAYS = ["Weekday evenings", "Saturdays", "Sundays"]
FIRST_NAMES = ["Amina", "Ben", "Chloe", "Dev", "Ellie", "Femi", "Grace", "Hassan", "Iris", "Jon"]
LAST_NAMES = ["Ahmed", "Brown", "Clarke", "Das", "Evans", "Francis", "Green", "Hughes"]


def _question(kind: QuestionKind, prompt: str, choices: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind.value,
        "prompt": prompt,
        "choices": choices or [],
        "required": kind is QuestionKind.SCALE,
    }


async def _demo_people(session: AsyncSession, organisation_id: uuid.UUID) -> dict[str, User]:
    users = await session.scalars(
        sa.select(User).where(col(User.organisation_id) == organisation_id)
    )
    return {u.email.split("@")[0]: u for u in users}


async def seed_demo_campaign(session: AsyncSession, organisation_id: uuid.UUID) -> uuid.UUID:
    """The demo campaign's id, creating it (and everything in it) unless it exists.
    Adds to the session and flushes; the caller commits."""
    existing = await session.scalar(
        sa.select(col(Campaign.id)).where(
            col(Campaign.organisation_id) == organisation_id, col(Campaign.title) == DEMO_CAMPAIGN
        )
    )
    if existing is not None:
        return existing
    people = await _demo_people(session, organisation_id)
    organiser, senior = people["organiser"], people["senior"]
    estate = await session.scalar(
        sa.select(col(Area.id)).where(
            col(Area.organisation_id) == organisation_id, col(Area.kind) == "estate"
        )
    )
    now = utcnow()
    today = now.date()
    start = now - timedelta(weeks=WEEKS)

    campaign = Campaign(
        organisation_id=organisation_id,
        kind=CampaignKind.LISTENING,
        title=DEMO_CAMPAIGN,
        description="Door to door on Mill Lane: what would make the estate a better place?",
        status=CampaignStatus.ACTIVE,
        area_id=estate,
        starts_on=start.date(),
        ends_on=today + timedelta(weeks=4),
        target_conversations=100,
        activated_at=start,
    )
    session.add(campaign)
    await session.flush()
    session.add_all(
        CampaignOrganiser(campaign_id=campaign.id, user_id=u.id) for u in (organiser, senior)
    )
    text, scale, yes_no, single, multi = questions = [
        _question(QuestionKind.TEXT, "What one thing would you change about the estate?"),
        _question(QuestionKind.SCALE, "How safe do you feel walking home at night? (1-5)"),
        _question(QuestionKind.YES_NO, "Have you reported a repair in the last year?"),
        _question(QuestionKind.SINGLE_CHOICE, "What concerns you most?", CONCERNS),
        _question(QuestionKind.MULTI_CHOICE, "When could you come to a meeting?", DAYS),
    ]
    session.add(
        QuestionSet(
            organisation_id=organisation_id,
            campaign_id=campaign.id,
            version=1,
            questions=questions,
            answered_at=start,
        )
    )
    themes = await _themes(session, organisation_id)
    session.add_all(CampaignTheme(campaign_id=campaign.id, theme_id=t.id) for t in themes.values())

    rng = random.Random(9)
    conversation_ids: list[tuple[uuid.UUID, uuid.UUID | None]] = []
    for i in range(CONVERSATIONS):
        # Spread evenly over the weeks (every week has some), at a varying hour.
        spacing = (WEEKS * 7 * 24 - 24) // CONVERSATIONS
        occurred = start + timedelta(hours=i * spacing + rng.randrange(spacing))
        organiser_id = organiser.id if i % 3 else senior.id
        resident_id = None
        if i % 3 != 2:  # two in three agreed to keep their details
            resident_id = await _resident(session, rng, organisation_id, organiser_id, occurred)
        conversation = Conversation(
            organisation_id=organisation_id,
            campaign_id=campaign.id,
            organiser_id=organiser_id,
            resident_id=resident_id,
            content_hash=uuid.uuid4().hex,
            occurred_at=occurred,
            question_set_version=1,
            interest_level=rng.randint(1, 5),
            wants_involvement=rng.random() < 0.4,
            notes="Keen to talk to neighbours." if i % 5 == 0 else None,
        )
        session.add(conversation)
        await session.flush()
        conversation_ids.append((conversation.id, resident_id))
        concern = rng.choice(CONCERNS)
        days = rng.sample(DAYS, rng.randint(1, 2))
        answers: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (scale, {"number": rng.choices([1, 2, 3, 4, 5], [2, 3, 3, 2, 1])[0]}),
            (yes_no, {"number": int(rng.random() < 0.6)}),
            (single, {"choices": [concern]}),
            (multi, {"choices": days}),
        ]
        if i % 2 == 0:
            answers.append((text, {"text": f"Sort out the {concern.lower()}."}))
        for question, value in answers:
            question_id = uuid.UUID(question["id"])
            session.add(
                Answer(
                    conversation_id=conversation.id,
                    question_id=question_id,
                    campaign_id=campaign.id,
                    question_set_version=1,
                    **value,
                )
            )
            session.add_all(
                AnswerChoice(
                    conversation_id=conversation.id,
                    question_id=question_id,
                    choice=choice,
                    campaign_id=campaign.id,
                    question_set_version=1,
                )
                for choice in value.get("choices") or ()
            )
        raised = {concern} | ({rng.choice(THEMES)} if rng.random() < 0.5 else set())
        session.add_all(
            ConversationTheme(
                conversation_id=conversation.id, theme_id=themes[t].id, campaign_id=campaign.id
            )
            for t in sorted(raised & themes.keys())
        )

    for n, (conversation_id, resident_id) in enumerate(conversation_ids[-4:]):
        session.add(
            FollowUp(
                organisation_id=organisation_id,
                campaign_id=campaign.id,
                conversation_id=conversation_id,
                resident_id=resident_id,
                assignee_id=organiser.id,
                created_by_id=organiser.id,
                due_at=now + timedelta(days=n - 1, hours=2),
                note="Call back about the repair." if n % 2 else "Drop round a meeting flyer.",
            )
        )
    event = Event(
        organisation_id=organisation_id,
        campaign_id=campaign.id,
        kind=EventKind.HOUSE_MEETING,
        title="Mill Lane house meeting",
        starts_at=(now + timedelta(days=10)).replace(hour=18, minute=30, second=0, microsecond=0),
        location="Community room, Mill Lane Estate",
        created_by_id=senior.id,
    )
    session.add(event)
    await session.flush()
    session.add_all(
        EventRsvp(event_id=event.id, user_id=u.id, status=RsvpStatus.GOING)
        for u in (organiser, senior)
    )
    await rebuild(session, campaign.id)
    return campaign.id


async def _themes(session: AsyncSession, organisation_id: uuid.UUID) -> dict[str, Theme]:
    found = {
        t.key: t
        for t in await session.scalars(
            sa.select(Theme).where(col(Theme.organisation_id) == organisation_id)
        )
    }
    themes: dict[str, Theme] = {}
    for name in THEMES:
        theme = found.get(theme_key(name))
        if theme is None:
            theme = Theme(organisation_id=organisation_id, key=theme_key(name), name=name)
            session.add(theme)
        themes[name] = theme
    await session.flush()
    return themes


async def _resident(
    session: AsyncSession,
    rng: random.Random,
    organisation_id: uuid.UUID,
    organiser_id: uuid.UUID,
    met: datetime,
) -> uuid.UUID:
    """A resident who agreed on the doorstep to keep their details, with the ledger lines."""
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    contact_again = rng.random() < 0.7
    hear_back = rng.random() < 0.8
    resident = Resident(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        name=name,
        postcode=f"E1 4{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}",
        email=f"{name.lower().replace(' ', '.')}@example.org" if contact_again else None,
        store_details=True,
        contact_again=contact_again,
        hear_back=hear_back,
        consent_recorded_at=met,
    )
    session.add(resident)
    await session.flush()  # before its ledger lines (no ORM relationship orders them)
    granted = {
        ConsentKind.STORE_DETAILS: True,
        ConsentKind.CONTACT_AGAIN: contact_again,
        ConsentKind.HEAR_BACK: hear_back,
    }
    session.add_all(
        Consent(
            organisation_id=organisation_id,
            resident_id=resident.id,
            kind=kind,
            granted=value,
            method=ConsentMethod.DOORSTEP,
            recorded_at=met,
            recorded_by_id=organiser_id,
        )
        for kind, value in granted.items()
    )
    return resident.id
