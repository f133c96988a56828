"""Campaign rows written straight into the database, for tests that need many of them or
need them in an organisation whose audit log must stay untouched."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from server.campaigns.enums import CampaignKind, CampaignStatus, QuestionKind
from server.campaigns.models import Campaign, CampaignOrganiser, CampaignTheme, QuestionSet, Theme
from server.core.services import Services
from tests.conftest import Org


def question(prompt: str, kind: QuestionKind = QuestionKind.TEXT, **more: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind.value,
        "prompt": prompt,
        "choices": list(more.get("choices", [])),
        "required": bool(more.get("required", False)),
    }


async def add_campaigns(
    services: Services,
    org: Org,
    titles: Sequence[str],
    *,
    status: CampaignStatus = CampaignStatus.ACTIVE,
    organisers: Sequence[uuid.UUID] = (),
    questions: int = 0,
    asked: Sequence[dict[str, Any]] = (),
    themes: int = 0,
    area: bool = False,
) -> list[Campaign]:
    """Campaigns of ``org``, each with those organisers, questions (``questions`` numbered
    ones, then those ``asked``) and themes."""
    made: list[Campaign] = []
    async with services.db.session() as session:
        theme_rows = [
            Theme(organisation_id=org.organisation.id, key=f"theme {i}", name=f"Theme {i}")
            for i in range(themes)
        ]
        session.add_all(theme_rows)
        for title in titles:
            campaign = Campaign(
                organisation_id=org.organisation.id,
                kind=CampaignKind.LISTENING,
                title=title,
                status=status,
                area_id=org.area.id if area else None,
            )
            session.add(campaign)
            made.append(campaign)
        await session.flush()
        for campaign in made:
            session.add(
                QuestionSet(
                    organisation_id=org.organisation.id,
                    campaign_id=campaign.id,
                    version=1,
                    questions=[question(f"Question {i}") for i in range(questions)] + list(asked),
                )
            )
            session.add_all(
                CampaignOrganiser(campaign_id=campaign.id, user_id=u) for u in organisers
            )
            session.add_all(
                CampaignTheme(campaign_id=campaign.id, theme_id=t.id) for t in theme_rows
            )
        await session.commit()
    return made
