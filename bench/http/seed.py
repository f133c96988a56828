"""The measured organisation: 50 members, 20 areas, an audit log, an admin's inbox."""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bench import training_rows
from server.accounts.areas import NewArea, create_area
from server.accounts.models import User, UserArea
from server.accounts.organisations import create_organisation_with_admin
from server.audit.service import audit as audit_entry
from server.campaigns.enums import CampaignKind, CampaignStatus, QuestionKind
from server.campaigns.models import (
    Campaign,
    CampaignOrganiser,
    CampaignTheme,
    Conversation,
    ConversationTheme,
    QuestionSet,
    Theme,
)
from server.campaigns.tallies import rebuild
from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.notifications.models import Notification, NotificationKind
from server.security.access import Actor

MEMBERS = 50  # the admin included
WARDS = 5
ESTATES_PER_WARD = 3  # 5 wards + 15 estates = 20 areas
NOTIFICATIONS = 40
ROLES = (Role.SENIOR_ORGANISER, Role.ORGANISER, Role.ORGANISER, Role.TRAINER)


CAMPAIGNS = 20
CAMPAIGN_ORGANISERS = 3  # the admin and two members
QUESTIONS = 5
CAMPAIGN_THEMES = 10
CONVERSATIONS = 200
COHORT = training_rows.Shape(trainees=50, sessions=12)
COHORT_COMPETENCIES = 10


@dataclass(frozen=True)
class Seeded:
    organisation_id: uuid.UUID
    admin_id: uuid.UUID
    email: str
    password: str
    audit_entries: int
    campaign_id: uuid.UUID  # the one with CONVERSATIONS conversations
    cohort_id: uuid.UUID  # COHORT_TRAINEES trainees (CohortProgress)


async def seed(services: Services) -> Seeded:
    """Through the domain functions where there is one (the organisation and its admin,
    areas), as rows otherwise (members, more audit entries, notifications)."""
    email, password = "admin@bench.test", secrets.token_urlsafe(18)
    async with services.db.session() as session:
        admin = await create_organisation_with_admin(
            session,
            services,
            organisation="Benchmark Organising",
            email=email,
            password=password,
            display_name="Bench Admin",
        )
        org_id, admin_id = admin.organisation_id, admin.id
        await session.commit()
        actor = Actor(admin_id, org_id, Role.ADMIN)
        areas: list[uuid.UUID] = []
        for w in range(WARDS):
            ward = await create_area(
                session, actor, NewArea(f"Ward {w:02}", "ward", None, [f"E{w + 1}"])
            )
            areas.append(ward.id)
            for e in range(ESTATES_PER_WARD):
                estate = await create_area(
                    session, actor, NewArea(f"Estate {w:02}-{e}", "estate", ward.id, [])
                )
                areas.append(estate.id)
        session.add_all(UserArea(user_id=admin_id, area_id=a) for a in areas[:3])
        for i in range(MEMBERS - 1):
            user = User(
                organisation_id=org_id,
                email=f"member{i:02}@bench.test",
                display_name=f"Member {i:02}",
                role=ROLES[i % len(ROLES)],
            )
            session.add(user)
            await session.flush()
            session.add_all(
                UserArea(user_id=user.id, area_id=areas[(i + j) % len(areas)]) for j in range(2)
            )
            audit_entry(session, actor, "member.invite", user, {"role": user.role.value})
        now = utcnow()
        kinds = list(NotificationKind)
        session.add_all(
            Notification(
                organisation_id=org_id,
                user_id=admin_id,
                dedupe_key=f"bench:{i}:{admin_id}",
                kind=kinds[i % len(kinds)],
                title=f"Notification {i:02}",
                body="The campaign you organise has a follow-up due this week.",
                link="/campaigns",
                read_at=now if i % 3 == 0 else None,
                created_at=now - timedelta(minutes=i),
            )
            for i in range(NOTIFICATIONS)
        )
        await session.commit()
        campaign_id = await seed_campaigns(session, org_id, admin_id)
        cohort_id = await seed_cohort(session, org_id, admin_id)
        await session.commit()
    # the organisation's creation, one entry per area, one per member
    audit = 1 + WARDS * (1 + ESTATES_PER_WARD) + MEMBERS - 1
    return Seeded(org_id, admin_id, email, password, audit, campaign_id, cohort_id)


async def seed_campaigns(
    session: AsyncSession, org_id: uuid.UUID, admin_id: uuid.UUID
) -> uuid.UUID:
    """Active campaigns the admin organises (MyCampaigns), and one campaign's
    conversations (ConversationChanges); as rows, the way the domain stores them."""
    members = list(
        await session.scalars(
            sa.select(col(User.id)).where(col(User.organisation_id) == org_id).limit(10)
        )
    )
    kinds = list(QuestionKind)
    themes = [Theme(organisation_id=org_id, key=f"theme {i}", name=f"Theme {i}")
              for i in range(CAMPAIGN_THEMES)]  # fmt: skip
    session.add_all(themes)
    today = utcnow().date()
    campaigns = []
    for c in range(CAMPAIGNS):
        campaign = Campaign(organisation_id=org_id, kind=CampaignKind.LISTENING,
                            title=f"Campaign {c:02}", description="Listening on the estate",
                            status=CampaignStatus.ACTIVE, starts_on=today,
                            target_conversations=200)  # fmt: skip
        session.add(campaign)
        campaigns.append(campaign)
    await session.flush()
    for c, campaign in enumerate(campaigns):
        others = [m for m in members if m != admin_id][c % 5 : c % 5 + CAMPAIGN_ORGANISERS - 1]
        session.add_all(CampaignOrganiser(campaign_id=campaign.id, user_id=u)
                        for u in [admin_id, *others])  # fmt: skip
        questions = [
            {
                "id": str(uuid.uuid4()),
                "kind": kinds[q % len(kinds)].value,
                "prompt": f"Question {q}",
                "choices": ["A", "B", "C"] if q % len(kinds) in (2, 3) else [],
                "required": False,
            }
            for q in range(QUESTIONS)
        ]
        session.add(QuestionSet(organisation_id=org_id, campaign_id=campaign.id, version=1,
                                questions=questions))  # fmt: skip
        session.add_all(CampaignTheme(campaign_id=campaign.id, theme_id=t.id) for t in themes)
    target = campaigns[0]
    now = utcnow()
    for i in range(CONVERSATIONS):
        conversation = Conversation(organisation_id=org_id, campaign_id=target.id,
                                    organiser_id=admin_id, content_hash="0" * 64,
                                    occurred_at=now - timedelta(hours=i),
                                    question_set_version=1, interest_level=3,
                                    notes="Talked about the bins.")  # fmt: skip
        session.add(conversation)
        await session.flush()
        session.add(ConversationTheme(conversation_id=conversation.id,
                                      theme_id=themes[i % CAMPAIGN_THEMES].id,
                                      campaign_id=target.id))  # fmt: skip
    await rebuild(session, target.id)
    return target.id


async def seed_cohort(session: AsyncSession, org_id: uuid.UUID, admin_id: uuid.UUID) -> uuid.UUID:
    """A cohort the admin trains (CohortProgress): COHORT's trainees, sessions with their
    marks, sign-offs and conversations (bench/training_rows.py)."""
    now = utcnow()
    framework = await training_rows.programme(
        session, org_id, "Benchmark programme", COHORT_COMPETENCIES, now
    )
    return await training_rows.cohort(
        session, framework, admin_id, "Benchmark cohort", COHORT, now, random.Random(12)
    )
