"""The demo organisation that `make run` seeds once, so a newcomer can sign in at once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col

from server.accounts.models import Area, Organisation, User, UserArea
from server.campaigns.demo import DEMO_CAMPAIGN, seed_demo_campaign
from server.core.enums import Role
from server.core.services import Services
from server.core.settings import Settings
from server.residents.demo import demo_invitation_link
from server.training.demo import DEMO_COHORT, seed_demo_training

DEMO_ORGANISATION = "Riverside Community Organisers (demo)"
DEMO_PASSWORD = "doorstep-demo"  # noqa: S105  (printed for the local demo only)
DEMO_PEOPLE = [
    ("admin@demo.doorstep.local", "Ada Admin", Role.ADMIN),
    ("trainer@demo.doorstep.local", "Tom Trainer", Role.TRAINER),
    ("senior@demo.doorstep.local", "Sam Senior", Role.SENIOR_ORGANISER),
    ("organiser@demo.doorstep.local", "Olu Organiser", Role.ORGANISER),
]


async def seed_demo(settings: Settings) -> bool:
    """Create the demo organisation unless it exists; True when it was created."""
    services = Services.create(settings)
    try:
        async with services.db.session() as session:
            org_id = await session.scalar(
                sa.select(col(Organisation.id)).where(col(Organisation.name) == DEMO_ORGANISATION)
            )
            if org_id is not None:
                created = False
            else:
                org = Organisation(name=DEMO_ORGANISATION)
                session.add(org)
                await session.flush()
                ward = Area(
                    organisation_id=org.id,
                    name="Riverside Ward",
                    kind="ward",
                    postcode_prefixes=["E1"],
                )
                session.add(ward)
                await session.flush()
                estate = Area(
                    organisation_id=org.id,
                    parent_id=ward.id,
                    name="Mill Lane Estate",
                    kind="estate",
                    postcode_prefixes=["E1 4"],
                )
                session.add(estate)
                password_hash = await services.passwords.hash(DEMO_PASSWORD)
                for email, name, role in DEMO_PEOPLE:
                    user = User(
                        organisation_id=org.id,
                        email=email,
                        display_name=name,
                        role=role,
                        password_hash=password_hash,
                    )
                    session.add(user)
                    await session.flush()
                    if role in (Role.ORGANISER, Role.SENIOR_ORGANISER):
                        session.add(UserArea(user_id=user.id, area_id=estate.id))
                org_id = org.id
                await session.commit()
                created = True
            # Also for a demo organisation seeded before campaigns existed.
            campaign_id = await seed_demo_campaign(session, org_id)
            cohort_id = await seed_demo_training(session, org_id)
            link = await demo_invitation_link(session, settings, org_id, campaign_id)
            await session.commit()
    finally:
        await services.close()
    print(f"Demo organisation: {DEMO_ORGANISATION}" + ("" if created else " (already there)"))
    for email, _name, role in DEMO_PEOPLE:
        print(f"  {role.value:<17} {email}  password: {DEMO_PASSWORD}")
    print(f"Demo campaign: {DEMO_CAMPAIGN}  id: {campaign_id}  (query CampaignReport)")
    print(f"Demo cohort: {DEMO_COHORT}  id: {cohort_id}  (query CohortProgress as the trainer)")
    print(f"A resident's link to the demo campaign (new each start): {link}")
    return created
