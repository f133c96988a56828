"""Audit cases of residents' data rights: by the resident's manage token (no actor) and
by an admin."""

from __future__ import annotations

import uuid

from server.core.enums import Role
from server.core.services import Services
from tests.audit_cases import Expected, Run
from tests.conftest import GraphQLClient, Org
from tests.resident_rows import issue_manage_token, listening_campaign, meet


async def _resident(gql: GraphQLClient, org: Org, services: Services) -> tuple[uuid.UUID, str]:
    campaign = await listening_campaign(services, org)
    _, resident_id = await meet(gql, org, campaign)
    return resident_id, await issue_manage_token(services, org, resident_id)


async def stop_contact(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    resident_id, token = await _resident(gql, org, services)
    data = await gql.op("StopContact", {"manageToken": token})
    assert data["stopContact"]["ok"] is True
    return Expected("resident.stop_contact", "Resident", resident_id, None)


async def erase_my_data(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    resident_id, token = await _resident(gql, org, services)
    data = await gql.op("EraseMyData", {"manageToken": token})
    assert data["eraseMyData"]["ok"] is True
    return Expected("resident.erase", "Resident", resident_id, None)


async def erase_resident(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    resident_id, _ = await _resident(gql, org, services)
    data = await gql.op("EraseResident", {"id": str(resident_id)}, token=org.token(Role.ADMIN))
    assert data["eraseResident"]["ok"] is True
    return Expected("resident.erase", "Resident", resident_id, org.members[Role.ADMIN].id)


async def set_resident_settings(gql: GraphQLClient, org: Org, services: Services) -> Expected:
    data = await gql(
        "mutation { setResidentSettings(input: { retentionMonths: 12 }) { userErrors { code } } }",
        token=org.token(Role.ADMIN),
    )
    assert data["setResidentSettings"]["userErrors"] == []
    return Expected(
        "residents.settings", "Organisation", org.organisation.id, org.members[Role.ADMIN].id
    )


CASES: dict[str, Run] = {
    "stopContact": stop_contact,
    "eraseMyData": erase_my_data,
    "eraseResident": erase_resident,
    "setResidentSettings": set_resident_settings,
}
