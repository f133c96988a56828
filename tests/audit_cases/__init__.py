"""What every audit case shares: what the entry must say, and helpers several cases use.

Each domain's cases live in ``tests/audit_cases/<domain>.py``: ``CASES`` holds one case per
mutation that domain adds, ``MORE_CASES`` any other audited outcomes of those mutations
(tests/test_audit.py gathers them).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.core.enums import Role
from server.core.services import Services
from tests.conftest import GraphQLClient, Org


@dataclass(frozen=True)
class Expected:
    action: str
    entity_type: str
    entity_id: uuid.UUID | str | None
    # None: someone without an account (a resident, by their token).
    actor_id: uuid.UUID | str | None


Run = Callable[[GraphQLClient, Org, Services], Awaitable[Expected]]


async def invite(gql: GraphQLClient, org: Org, email: str) -> str:
    data = await gql.op(
        "InviteMember",
        {"input": {"email": email, "displayName": "Newcomer", "role": "ORGANISER"}},
        token=org.token(Role.ADMIN),
    )
    assert data["inviteMember"]["userErrors"] == []
    member_id: str = data["inviteMember"]["member"]["id"]
    return member_id
