"""Members come and go: UpdateMember, SetMemberActive, and what a deactivated member can no
longer do. (How deactivation and role changes end sessions: tests/test_revocation.py.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.accounts import members
from server.accounts.members import DEACTIVATED_MEMBER, LAST_ADMIN, MemberChanges
from server.accounts.models import Device, User
from server.core.enums import Role
from server.core.errors import AccessDenied
from server.core.services import Services
from server.outbox.models import OutboxMessage
from server.security.access import Actor
from tests.conftest import PASSWORD, GraphQLClient, Org
from tests.contract_ops import op

ALL_MEMBERS = """
query($active: Boolean, $role: Role) {
  members(filter: { active: $active, role: $role }, first: 100) {
    totalCount
    edges { node { email active } }
  }
}
"""


async def update(
    gql: GraphQLClient, token: str, member_id: uuid.UUID | str, **input: Any
) -> dict[str, Any]:
    data = await gql.op("UpdateMember", {"id": str(member_id), "input": input}, token=token)
    result: dict[str, Any] = data["updateMember"]
    return result


async def set_active(
    gql: GraphQLClient, token: str, member_id: uuid.UUID | str, active: bool
) -> dict[str, Any]:
    data = await gql.op("SetMemberActive", {"id": str(member_id), "active": active}, token=token)
    result: dict[str, Any] = data["setMemberActive"]
    return result


async def login_errors(gql: GraphQLClient, email: str, password: str = PASSWORD) -> list[str]:
    data = await gql.op("Login", {"email": email, "password": password})
    return [e["code"] for e in data["login"]["userErrors"]]


async def emails_to(services: Services, address: str) -> list[dict[str, Any]]:
    async with services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(OutboxMessage)
                .where(col(OutboxMessage.topic) == "email.account")
                .order_by(col(OutboxMessage.created_at))
            )
        ).all()
    return [r.payload for r in rows if r.payload["to"] == address]


def token_of(link: str) -> str:
    [token] = parse_qs(urlparse(link).query)["token"]
    return token


async def add_admin(services: Services, org: Org, name: str = "Second") -> User:
    async with services.db.session() as session:
        admin = User(
            organisation_id=org.organisation.id,
            email=f"{name.lower()}-admin@{org.organisation.name.lower()}.test",
            display_name=f"{name} Admin",
            role=Role.ADMIN,
            password_hash=org.members[Role.ADMIN].password_hash,
        )
        session.add(admin)
        await session.commit()
    return admin


async def login_token(gql: GraphQLClient, email: str) -> str:
    data = await gql.op("Login", {"email": email, "password": PASSWORD})
    token: str = data["login"]["session"]["accessToken"]
    return token


# --- UpdateMember ------------------------------------------------------------------------


async def test_update_member_changes_only_the_given_fields(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    data = await gql.op("CreateArea", {"input": {"name": "Estate"}}, token=org.token())
    estate = data["createArea"]["area"]

    result = await update(gql, org.token(), organiser.id, areaIds=[str(org.area.id), estate["id"]])
    assert result["userErrors"] == []
    member = result["member"]
    assert member["displayName"] == "Organiser of Alpha" and member["role"] == "ORGANISER"
    assert member["active"] is True and member["email"] == "organiser@alpha.test"
    assert sorted(a["name"] for a in member["areas"]) == ["Alpha Ward", "Estate"]

    result = await update(gql, org.token(), organiser.id, displayName="  Olu Organiser ")
    assert result["member"]["displayName"] == "Olu Organiser"
    assert sorted(a["name"] for a in result["member"]["areas"]) == ["Alpha Ward", "Estate"]

    result = await update(gql, org.token(), organiser.id, role="TRAINER", areaIds=[estate["id"]])
    assert result["member"]["role"] == "TRAINER"
    assert result["member"]["displayName"] == "Olu Organiser"
    assert [a["name"] for a in result["member"]["areas"]] == ["Estate"]

    result = await update(gql, org.token(), organiser.id, areaIds=[])
    assert result["member"]["areas"] == []
    data = await gql(ALL_MEMBERS, {"role": "TRAINER"}, token=org.token())
    assert sorted(e["node"]["email"] for e in data["members"]["edges"]) == [
        "organiser@alpha.test",
        "trainer@alpha.test",
    ]


async def test_update_member_reports_every_problem(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Alpha")
    other: Org = await make_org("Beta")
    organiser = org.members[Role.ORGANISER]
    result = await update(
        gql, org.token(), organiser.id, displayName="  ", areaIds=[str(other.area.id), "nope"]
    )
    assert result["member"] is None
    assert sorted((e["field"], e["code"]) for e in result["userErrors"]) == [
        ("input.areaIds.1", "NOT_FOUND"),
    ]
    result = await update(
        gql, org.token(), organiser.id, displayName="  ", areaIds=[str(other.area.id)]
    )
    assert sorted((e["field"], e["code"]) for e in result["userErrors"]) == [
        ("input.areaIds.0", "NOT_FOUND"),
        ("input.displayName", "REQUIRED"),
    ]
    for bad in ("not-an-id", str(uuid.uuid4()), str(other.members[Role.ORGANISER].id)):
        result = await update(gql, org.token(), bad, displayName="X")
        assert result == {
            "member": None,
            "userErrors": [{"field": "id", "message": "No such member.", "code": "NOT_FOUND"}],
        }


@pytest.mark.parametrize("role", [Role.SENIOR_ORGANISER, Role.TRAINER, Role.ORGANISER])
async def test_only_admins_change_members(
    gql: GraphQLClient, make_org: Any, services: Services, role: Role
) -> None:
    org: Org = await make_org("Alpha")
    target = org.members[Role.ORGANISER]
    for query, variables in (
        ("UpdateMember", {"id": str(target.id), "input": {"displayName": "Mine now"}}),
        ("SetMemberActive", {"id": str(target.id), "active": False}),
    ):
        body = await gql.raw(op(query), variables, token=org.token(role))
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    async with services.db.session() as session:
        stored = await session.get(User, target.id)
    assert stored is not None and stored.display_name == target.display_name and stored.is_active
    body = await gql.raw(op("UpdateMember"), {"id": str(target.id), "input": {}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


# --- the last active admin ------------------------------------------------------------------


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    admin = org.members[Role.ADMIN]
    result = await update(gql, org.token(), admin.id, role="ORGANISER")
    assert result == {
        "member": None,
        "userErrors": [{"field": "input.role", "message": LAST_ADMIN, "code": "INVALID"}],
    }
    result = await set_active(gql, org.token(), admin.id, False)
    assert result == {
        "member": None,
        "userErrors": [{"field": "active", "message": LAST_ADMIN, "code": "INVALID"}],
    }
    # A deactivated admin does not count.
    second = await add_admin(services, org)
    assert (await set_active(gql, org.token(), second.id, False))["userErrors"] == []
    result = await update(gql, org.token(), admin.id, role="TRAINER")
    assert [e["code"] for e in result["userErrors"]] == ["INVALID"]
    # Renaming the last admin, or giving them areas, is fine.
    result = await update(gql, org.token(), admin.id, displayName="Still Admin", role="ADMIN")
    assert result["userErrors"] == [] and result["member"]["role"] == "ADMIN"
    # With another active admin, an admin may step down.
    assert (await set_active(gql, org.token(), second.id, True))["userErrors"] == []
    result = await update(gql, org.token(), admin.id, role="ORGANISER")
    assert result["userErrors"] == [] and result["member"]["role"] == "ORGANISER"
    async with services.db.session() as session:
        admins = (
            await session.scalars(
                sa.select(col(User.id)).where(
                    col(User.organisation_id) == org.organisation.id,
                    col(User.role) == Role.ADMIN,
                    col(User.is_active).is_(True),
                )
            )
        ).all()
    assert admins == [second.id]


async def _active_admins(services: Services, org: Org) -> list[uuid.UUID]:
    async with services.db.session() as session:
        return list(
            (
                await session.scalars(
                    sa.select(col(User.id)).where(
                        col(User.organisation_id) == org.organisation.id,
                        col(User.role) == Role.ADMIN,
                        col(User.is_active).is_(True),
                    )
                )
            ).all()
        )


@pytest.mark.parametrize("change", ["demote", "deactivate"])
async def test_two_admins_removing_each_other_at_once_leave_one(
    gql: GraphQLClient, make_org: Any, services: Services, change: str
) -> None:
    org: Org = await make_org("Alpha")
    first = org.members[Role.ADMIN]
    second = await add_admin(services, org)
    emails = {first.id: first.email, second.id: second.email}

    def remove(by: uuid.UUID, whom: uuid.UUID, token: str) -> Any:
        if change == "demote":
            variables: dict[str, Any] = {"id": str(whom), "input": {"role": "ORGANISER"}}
            return gql.raw(op("UpdateMember"), variables, token=token)
        return gql.raw(op("SetMemberActive"), {"id": str(whom), "active": False}, token=token)

    for _ in range(3):
        tokens = {a: await login_token(gql, emails[a]) for a in (first.id, second.id)}
        bodies = await asyncio.gather(
            remove(first.id, second.id, tokens[first.id]),
            remove(second.id, first.id, tokens[second.id]),
        )
        won = [
            b
            for b in bodies
            if not b.get("errors") and not next(iter(b["data"].values()))["userErrors"]
        ]
        assert len(won) == 1, bodies
        # The other lost: by then no admin (FORBIDDEN), or signed out (UNAUTHENTICATED), or
        # told that it would leave none (INVALID).
        [lost] = [b for b in bodies if b is not won[0]]
        codes = [e["extensions"]["code"] for e in lost.get("errors") or []] or [
            e["code"] for e in next(iter(lost["data"].values()))["userErrors"]
        ]
        assert codes in (["FORBIDDEN"], ["UNAUTHENTICATED"], ["INVALID"]), lost
        [survivor] = await _active_admins(services, org)
        # Both admins again for the next round.
        removed = second.id if survivor == first.id else first.id
        admin_token = await login_token(gql, emails[survivor])
        if change == "demote":
            restored = await update(gql, admin_token, removed, role="ADMIN")
        else:
            restored = await set_active(gql, admin_token, removed, True)
        assert restored["userErrors"] == []
        assert sorted(await _active_admins(services, org)) == sorted([first.id, second.id])


async def test_an_admin_demoted_a_moment_ago_is_no_admin_whatever_the_token_says(
    make_org: Any, services: Services
) -> None:
    """The rights are checked again under the lock: a token still cached as good (or minted
    before the demotion) does not make its holder an admin."""
    org: Org = await make_org("Alpha")
    demoted = await add_admin(services, org)
    async with services.db.session() as session:
        await members.update_member(
            session, services, org.actor(Role.ADMIN), demoted.id, MemberChanges(role=Role.TRAINER)
        )
    stale = Actor(demoted.id, org.organisation.id, Role.ADMIN)
    target = org.members[Role.ORGANISER].id
    async with services.db.session() as session:
        with pytest.raises(AccessDenied):
            await members.set_member_active(session, services, stale, target, False)
        with pytest.raises(AccessDenied):
            await members.update_member(
                session, services, stale, target, MemberChanges(display_name="Mine")
            )
    async with services.db.session() as session:
        stored = await session.get(User, target)
    assert stored is not None and stored.is_active and stored.display_name != "Mine"


# --- SetMemberActive ----------------------------------------------------------------------


async def test_a_deactivated_member_cannot_sign_in_reset_use_old_links_or_be_invited(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    # A pending invitee with a link not followed yet.
    data = await gql.op(
        "InviteMember",
        {"input": {"email": "pending@alpha.test", "displayName": "Pending", "role": "ORGANISER"}},
        token=org.token(),
    )
    pending_id = data["inviteMember"]["member"]["id"]
    [invitation] = await emails_to(services, "pending@alpha.test")
    await gql.op("RequestPasswordReset", {"email": organiser.email})
    [reset] = await emails_to(services, organiser.email)

    assert (await set_active(gql, org.token(), organiser.id, False)) == {
        "member": {"id": str(organiser.id), "active": False},
        "userErrors": [],
    }
    assert (await set_active(gql, org.token(), pending_id, False))["userErrors"] == []

    # Signing in looks exactly like a wrong password.
    assert await login_errors(gql, organiser.email) == ["INVALID"]
    wrong = await gql.op("Login", {"email": organiser.email, "password": PASSWORD})
    unknown = await gql.op("Login", {"email": "nobody@alpha.test", "password": PASSWORD})
    assert wrong == unknown
    # A reset request answers ok and sends nothing.
    data = await gql.op("RequestPasswordReset", {"email": organiser.email})
    assert data["requestPasswordReset"] == {"ok": True}
    assert len(await emails_to(services, organiser.email)) == 1
    # Links sent before the deactivation are dead.
    for link in (reset["link"], invitation["link"]):
        data = await gql.op(
            "SetPassword", {"input": {"token": token_of(link), "password": PASSWORD}}
        )
        assert [e["code"] for e in data["setPassword"]["userErrors"]] == ["EXPIRED"]
    # They cannot be invited back; reactivation is the way.
    for email in (organiser.email, "pending@alpha.test"):
        data = await gql.op(
            "InviteMember",
            {"input": {"email": email, "displayName": "Again", "role": "ORGANISER"}},
            token=org.token(),
        )
        assert data["inviteMember"] == {
            "member": None,
            "userErrors": [
                {"field": "input.email", "message": DEACTIVATED_MEMBER, "code": "INVALID"}
            ],
        }

    # Reactivated: the old password works, and the pending invitee can be invited again.
    assert (await set_active(gql, org.token(), organiser.id, True))["member"]["active"] is True
    assert await login_errors(gql, organiser.email) == []
    # The dead links stay dead after reactivation.
    data = await gql.op(
        "SetPassword", {"input": {"token": token_of(reset["link"]), "password": PASSWORD}}
    )
    assert [e["code"] for e in data["setPassword"]["userErrors"]] == ["EXPIRED"]
    assert (await set_active(gql, org.token(), pending_id, True))["userErrors"] == []
    data = await gql.op(
        "InviteMember",
        {"input": {"email": "pending@alpha.test", "displayName": "Back", "role": "ORGANISER"}},
        token=org.token(),
    )
    assert data["inviteMember"]["userErrors"] == []


async def test_deactivation_turns_the_members_devices_off_and_reactivation_on(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    for token in ("ExponentPushToken[phone]", "ExponentPushToken[tablet]"):
        data = await gql.op(
            "RegisterDevice",
            {"input": {"platform": "IOS", "provider": "EXPO", "token": token}},
            token=org.token(Role.ORGANISER),
        )
        assert data["registerDevice"]["userErrors"] == []
    trainer_device = await gql.op(
        "RegisterDevice",
        {"input": {"platform": "ANDROID", "provider": "EXPO", "token": "ExponentPushToken[t]"}},
        token=org.token(Role.TRAINER),
    )
    assert trainer_device["registerDevice"]["userErrors"] == []
    async with services.db.session() as session:
        # One was already off for its own reason: reactivation must not turn it back on.
        tablet = await session.scalar(
            sa.select(Device).where(col(Device.token) == "ExponentPushToken[tablet]")
        )
        assert tablet is not None
        tablet.disabled_at, tablet.disabled_reason = tablet.created_at, "unregistered"
        await session.commit()

    async def devices() -> dict[str, str | None]:
        async with services.db.session() as session:
            rows = (await session.scalars(sa.select(Device))).all()
        return {d.token: d.disabled_reason if d.disabled_at else None for d in rows}

    await set_active(gql, org.token(), organiser.id, False)
    assert await devices() == {
        "ExponentPushToken[phone]": "member deactivated",
        "ExponentPushToken[tablet]": "unregistered",
        "ExponentPushToken[t]": None,
    }
    await set_active(gql, org.token(), organiser.id, True)
    assert await devices() == {
        "ExponentPushToken[phone]": None,
        "ExponentPushToken[tablet]": "unregistered",
        "ExponentPushToken[t]": None,
    }


async def test_setting_the_state_a_member_is_in_changes_nothing(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    organiser = org.members[Role.ORGANISER]
    assert (await set_active(gql, org.token(), organiser.id, True)) == {
        "member": {"id": str(organiser.id), "active": True},
        "userErrors": [],
    }
    data = await gql.op("AuditLog", {"first": 100}, token=org.token())
    assert data["auditLog"]["edges"] == []
    assert await login_errors(gql, organiser.email) == []


async def test_set_member_active_on_an_unknown_member_is_not_found(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    for bad in ("nope", str(uuid.uuid4())):
        assert await set_active(gql, org.token(), bad, False) == {
            "member": None,
            "userErrors": [{"field": "id", "message": "No such member.", "code": "NOT_FOUND"}],
        }


# --- Members ------------------------------------------------------------------------------


async def test_members_lists_active_members_unless_asked(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Alpha")
    await set_active(gql, org.token(), org.members[Role.TRAINER].id, False)

    data = await gql.op("Members", token=org.token())  # the contract's query
    assert data["members"]["totalCount"] == 3
    assert "trainer@alpha.test" not in [e["node"]["email"] for e in data["members"]["edges"]]

    data = await gql(ALL_MEMBERS, {"active": False}, token=org.token())
    assert data["members"]["edges"] == [{"node": {"email": "trainer@alpha.test", "active": False}}]
    data = await gql(ALL_MEMBERS, {"active": None}, token=org.token())
    assert data["members"]["totalCount"] == 4
    data = await gql("{ members { totalCount } }", token=org.token())
    assert data["members"]["totalCount"] == 3
