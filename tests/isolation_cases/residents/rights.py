"""Isolation cases of residents' data rights: a manage token opens only its resident's
data, an admin erases only their organisation's residents, and settings are each
organisation's own."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.campaigns.models import Resident
from server.core.enums import Role
from server.residents.models import ResidentSettings
from tests.isolation_cases import Case, World
from tests.resident_rows import issue_manage_token, listening_campaign, meet

THEIR_NOTICE = "Theirs private notice"


async def _their_resident(w: World) -> uuid.UUID:
    """A resident of Theirs with a manage token (written directly: Theirs' audit log must
    hold only what the world set up)."""
    resident = Resident(
        organisation_id=w.theirs.organisation.id,
        name="Theirs Resident",
        email="resident@theirs.test",
        store_details=True,
        contact_again=True,
    )
    async with w.services.db.session() as session:
        session.add(resident)
        await session.commit()
    await issue_manage_token(w.services, w.theirs, resident.id)
    w.secrets |= {str(resident.id), "resident@theirs.test"}
    return resident.id


async def _still_there(w: World, resident_id: uuid.UUID) -> None:
    async with w.services.db.session() as session:
        row = await session.get(Resident, resident_id)
    assert row is not None and row.erased_at is None and row.name == "Theirs Resident"
    assert row.contact_again is True


async def _our_token(w: World) -> str:
    campaign = await listening_campaign(w.services, w.ours, "Ours listening")
    _, resident_id = await meet(w.gql, w.ours, campaign, name="Our Resident")
    return await issue_manage_token(w.services, w.ours, resident_id)


async def my_data(w: World) -> None:
    theirs = await _their_resident(w)
    body = await w.run("MyData", {"manageToken": await _our_token(w)})
    assert body["data"]["myData"]["name"] == "Our Resident"
    body = await w.run("MyData", {"manageToken": "x" * 43})
    assert body["data"]["myData"] is None
    await _still_there(w, theirs)


async def stop_contact(w: World) -> None:
    theirs = await _their_resident(w)
    body = await w.run("StopContact", {"manageToken": await _our_token(w)})
    assert body["data"]["stopContact"]["ok"] is True
    await _still_there(w, theirs)


async def erase_my_data(w: World) -> None:
    theirs = await _their_resident(w)
    body = await w.run("EraseMyData", {"manageToken": await _our_token(w)})
    assert body["data"]["eraseMyData"]["ok"] is True
    await _still_there(w, theirs)


async def erase_resident(w: World) -> None:
    theirs = await _their_resident(w)
    for role in Role:
        body = await w.run("EraseResident", {"id": str(theirs)}, role=role)
        if role is Role.ADMIN:
            assert body["data"]["eraseResident"]["userErrors"][0]["code"] == "NOT_FOUND"
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await _still_there(w, theirs)


async def _their_settings(w: World) -> None:
    async with w.services.db.session() as session:
        await session.merge(
            ResidentSettings(
                organisation_id=w.theirs.organisation.id,
                retention_months=3,
                privacy_notice=THEIR_NOTICE,
            )
        )
        await session.commit()
    w.secrets.add(THEIR_NOTICE)


async def _their_settings_unchanged(w: World) -> None:
    async with w.services.db.session() as session:
        rows = (await session.scalars(sa.select(ResidentSettings))).all()
    theirs = [r for r in rows if r.organisation_id == w.theirs.organisation.id]
    assert [(r.retention_months, r.privacy_notice) for r in theirs] == [(3, THEIR_NOTICE)]


async def resident_settings(w: World) -> None:
    await _their_settings(w)
    body = await w.gql.raw(
        "{ residentSettings { retentionMonths privacyNotice } }", token=w.ours.token()
    )
    w.responses.append(body)
    assert body["data"]["residentSettings"] == {"retentionMonths": 24, "privacyNotice": None}
    await _their_settings_unchanged(w)


async def set_resident_settings(w: World) -> None:
    await _their_settings(w)
    body = await w.gql.raw(
        """mutation { setResidentSettings(input: { retentionMonths: 60, privacyNotice: "Ours" })
        { residentSettings { retentionMonths privacyNotice } userErrors { code } } }""",
        token=w.ours.token(),
    )
    w.responses.append(body)
    assert body["data"]["setResidentSettings"]["residentSettings"]["retentionMonths"] == 60
    await _their_settings_unchanged(w)


CASES: dict[str, Case] = {
    "myData": my_data,
    "stopContact": stop_contact,
    "eraseMyData": erase_my_data,
    "eraseResident": erase_resident,
    "residentSettings": resident_settings,
    "setResidentSettings": set_resident_settings,
}
