"""Areas and members through the client contract's operations: CreateArea, Areas, Members,
InviteMember (and the set-password link that the invitation email carries)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa
from sqlmodel import col

from server.accounts.members import CANNOT_INVITE
from server.accounts.models import User
from server.core.enums import Role
from server.core.services import Services
from server.outbox.models import OutboxMessage
from tests.conftest import PASSWORD, GraphQLClient, Org

AREAS_PAGE = """
query($first: Int, $after: String) {
  areas(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name parent { id name } } }
  }
}
"""


async def create_area(
    gql: GraphQLClient, token: str, **input: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    data = await gql.op("CreateArea", {"input": input}, token=token)
    return data["createArea"]["area"], data["createArea"]["userErrors"]


async def invite(
    gql: GraphQLClient, token: str, **input: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    input.setdefault("displayName", "New Person")
    input.setdefault("role", "ORGANISER")
    data = await gql.op("InviteMember", {"input": input}, token=token)
    return data["inviteMember"]["member"], data["inviteMember"]["userErrors"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def all_areas(gql: GraphQLClient, token: str) -> dict[str, dict[str, Any]]:
    data = await gql.op("Areas", token=token)
    return {e["node"]["name"]: e["node"] for e in data["areas"]["edges"]}


# --- CreateArea -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SENIOR_ORGANISER])
async def test_staff_create_areas(gql: GraphQLClient, make_org: Any, role: Role) -> None:
    org: Org = await make_org()
    area, errors = await create_area(gql, org.token(role), name="  Riverside  ", kind="estate")
    assert errors == []
    assert area is not None
    assert area["name"] == "Riverside"
    assert area["kind"] == "estate"
    assert area["parent"] is None
    uuid.UUID(area["id"])
    assert all_areas_names(await all_areas(gql, org.token(Role.ORGANISER))) == [
        f"{org.organisation.name} Ward",
        "Riverside",
    ]


def all_areas_names(areas: dict[str, Any]) -> list[str]:
    return sorted(areas)


async def test_create_nested_area(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    estate, errors = await create_area(
        gql, org.token(), name="Riverside", kind="estate", parentId=str(org.area.id)
    )
    assert errors == []
    assert estate is not None
    assert estate["parent"] == {"id": str(org.area.id)}
    street, errors = await create_area(
        gql, org.token(), name="Mill Lane", kind="street", parentId=estate["id"]
    )
    assert errors == []
    assert street is not None
    assert street["parent"] == {"id": estate["id"]}

    listed = await all_areas(gql, org.token())
    assert listed["Mill Lane"]["parent"] == {"id": estate["id"]}
    assert listed["Riverside"]["parent"] == {"id": str(org.area.id)}
    assert listed[f"{org.organisation.name} Ward"]["parent"] is None


async def test_postcode_prefixes_are_normalised(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    _, errors = await create_area(
        gql, org.token(), name="East", postcodePrefixes=[" e1 ", "sw1a", "m13  9", "E1", "N"]
    )
    assert errors == []
    assert (await all_areas(gql, org.token()))["East"]["postcodePrefixes"] == [
        "E1",
        "SW1A",
        "M13 9",
        "N",
    ]


async def test_bad_postcode_prefixes_are_named_by_position(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    area, errors = await create_area(
        gql, org.token(), name="East", postcodePrefixes=["E1", "12", "SW1A 1AA X", "E2"]
    )
    assert area is None
    assert [(e["field"], e["code"]) for e in errors] == [
        ("input.postcodePrefixes.1", "INVALID"),
        ("input.postcodePrefixes.2", "INVALID"),
    ]
    assert errors[0]["message"] == "'12' is not the start of a UK postcode."
    assert "East" not in await all_areas(gql, org.token())


async def test_every_problem_is_reported_at_once(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    area, errors = await create_area(gql, org.token(), name=" ", postcodePrefixes=["12"])
    assert area is None
    assert sorted((e["field"], e["code"]) for e in errors) == [
        ("input.name", "REQUIRED"),
        ("input.postcodePrefixes.0", "INVALID"),
    ]


async def test_name_and_kind_lengths(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    _, errors = await create_area(gql, org.token(), name="x" * 201)
    assert [(e["field"], e["code"]) for e in errors] == [("input.name", "INVALID")]
    _, errors = await create_area(gql, org.token(), name="Fine", kind="k" * 51)
    assert [(e["field"], e["code"]) for e in errors] == [("input.kind", "INVALID")]


async def test_duplicate_name_under_the_same_parent(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    ward = f"{org.organisation.name} Ward"
    area, errors = await create_area(gql, org.token(), name=ward.upper())
    assert area is None
    assert [(e["field"], e["code"]) for e in errors] == [("input.name", "INVALID")]

    first, errors = await create_area(gql, org.token(), name="Riverside", parentId=str(org.area.id))
    assert errors == []
    again, errors = await create_area(
        gql, org.token(), name="riverside ", parentId=str(org.area.id)
    )
    assert again is None
    assert [(e["field"], e["code"]) for e in errors] == [("input.name", "INVALID")]

    # The same name at another level is fine.
    top, errors = await create_area(gql, org.token(), name="Riverside")
    assert errors == []
    assert first is not None and top is not None and top["id"] != first["id"]


async def test_parent_of_another_organisation_is_not_found(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org()
    other: Org = await make_org()
    for parent in (str(other.area.id), str(uuid.uuid4()), "not-an-id"):
        area, errors = await create_area(gql, org.token(), name="Sneaky", parentId=parent)
        assert area is None
        assert errors == [
            {"field": "input.parentId", "message": "No such area.", "code": "NOT_FOUND"}
        ]
    assert "Sneaky" not in await all_areas(gql, other.token())


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.TRAINER])
async def test_organisers_and_trainers_may_not_create_areas(
    gql: GraphQLClient, make_org: Any, role: Role
) -> None:
    from tests.contract_ops import op

    org: Org = await make_org()
    body = await gql.raw(op("CreateArea"), {"input": {"name": "Mine"}}, token=org.token(role))
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None
    assert "Mine" not in await all_areas(gql, org.token())


async def test_create_area_needs_sign_in(gql: GraphQLClient) -> None:
    from tests.contract_ops import op

    body = await gql.raw(op("CreateArea"), {"input": {"name": "Anon"}})
    assert error_codes(body) == ["UNAUTHENTICATED"]


# --- Areas ------------------------------------------------------------------------------


async def test_areas_paginate_by_name(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Paging")
    for name in ("Elm", "Ash", "Cedar", "Birch", "Dogwood"):
        _, errors = await create_area(gql, org.token(), name=name, parentId=str(org.area.id))
        assert errors == []
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql(AREAS_PAGE, {"first": 2, "after": after}, token=org.token(Role.TRAINER))
        conn = data["areas"]
        pages += 1
        assert conn["totalCount"] == 6
        assert len(conn["edges"]) <= 2
        seen += [e["node"]["name"] for e in conn["edges"]]
        if conn["edges"]:
            assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == ["Ash", "Birch", "Cedar", "Dogwood", "Elm", "Paging Ward"]

    # Parents come along on every page.
    data = await gql(AREAS_PAGE, {"first": 1}, token=org.token())
    assert data["areas"]["edges"][0]["node"]["parent"] == {
        "id": str(org.area.id),
        "name": "Paging Ward",
    }


async def test_areas_first_zero_counts_without_rows(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    data = await gql(AREAS_PAGE, {"first": 0}, token=org.token())
    assert data["areas"]["edges"] == []
    assert data["areas"]["totalCount"] == 1
    assert data["areas"]["pageInfo"] == {"hasNextPage": True, "endCursor": None}


async def test_rows_added_between_pages_do_not_shift_the_cursor(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Stable")
    for name in ("B", "D", "F"):
        await create_area(gql, org.token(), name=name)
    first = await gql(AREAS_PAGE, {"first": 2}, token=org.token())
    assert [e["node"]["name"] for e in first["areas"]["edges"]] == ["B", "D"]
    await create_area(gql, org.token(), name="A")  # sorts before the cursor
    await create_area(gql, org.token(), name="E")
    rest = await gql(
        AREAS_PAGE,
        {"first": 10, "after": first["areas"]["pageInfo"]["endCursor"]},
        token=org.token(),
    )
    assert [e["node"]["name"] for e in rest["areas"]["edges"]] == ["E", "F", "Stable Ward"]
    assert rest["areas"]["pageInfo"]["hasNextPage"] is False


async def test_areas_need_sign_in(gql: GraphQLClient) -> None:
    from tests.contract_ops import op

    assert error_codes(await gql.raw(op("Areas"))) == ["UNAUTHENTICATED"]


# --- Members ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SENIOR_ORGANISER, Role.TRAINER])
async def test_members_list(gql: GraphQLClient, make_org: Any, role: Role) -> None:
    org: Org = await make_org("Listing")
    data = await gql.op("Members", token=org.token(role))
    members = data["members"]
    assert members["totalCount"] == 4
    assert members["pageInfo"]["hasNextPage"] is False
    assert [(e["node"]["displayName"], e["node"]["role"]) for e in members["edges"]] == [
        ("Admin of Listing", "ADMIN"),
        ("Organiser of Listing", "ORGANISER"),
        ("Senior_Organiser of Listing", "SENIOR_ORGANISER"),
        ("Trainer of Listing", "TRAINER"),
    ]
    assert members["edges"][0]["node"]["email"] == "admin@listing.test"


async def test_members_filter_by_role(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Filter")
    for i in range(3):
        _, errors = await invite(gql, org.token(), email=f"o{i}@filter.test", role="ORGANISER")
        assert errors == []
    data = await gql.op("Members", {"role": "ORGANISER"}, token=org.token())
    assert data["members"]["totalCount"] == 4
    assert {e["node"]["role"] for e in data["members"]["edges"]} == {"ORGANISER"}
    data = await gql.op("Members", {"role": "ADMIN"}, token=org.token())
    assert [e["node"]["email"] for e in data["members"]["edges"]] == ["admin@filter.test"]
    assert data["members"]["totalCount"] == 1


async def test_members_paginate(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Pages")
    for i in range(5):
        _, errors = await invite(
            gql, org.token(), email=f"p{i}@pages.test", displayName=f"Person {i}"
        )
        assert errors == []
    seen: list[str] = []
    after = None
    while True:
        data = await gql.op(
            "Members", {"first": 3, "after": after, "role": None}, token=org.token()
        )
        members = data["members"]
        assert members["totalCount"] == 9
        seen += [e["node"]["displayName"] for e in members["edges"]]
        if not members["pageInfo"]["hasNextPage"]:
            break
        after = members["pageInfo"]["endCursor"]
    assert len(seen) == 9
    assert len(set(seen)) == 9
    assert seen == sorted(seen)


async def test_organisers_may_not_list_members(gql: GraphQLClient, make_org: Any) -> None:
    from tests.contract_ops import op

    org: Org = await make_org()
    body = await gql.raw(op("Members"), token=org.token(Role.ORGANISER))
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


# --- InviteMember -----------------------------------------------------------------------


async def outbox_emails(services: Services, to: str) -> list[dict[str, Any]]:
    async with services.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(OutboxMessage)
                .where(col(OutboxMessage.topic) == "email.account")
                .order_by(col(OutboxMessage.created_at))
            )
        ).all()
    return [r.payload for r in rows if r.payload["to"] == to]


async def stored_user(services: Services, email: str) -> User | None:
    async with services.db.session() as session:
        return await session.scalar(sa.select(User).where(col(User.email) == email))


def token_of(link: str) -> str:
    [token] = parse_qs(urlparse(link).query)["token"]
    return token


async def test_invite_creates_a_member_and_stages_the_email(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Inviting")
    estate, _ = await create_area(gql, org.token(), name="Estate", parentId=str(org.area.id))
    assert estate is not None
    member, errors = await invite(
        gql,
        org.token(),
        email="  New.Person@Example.TEST ",
        displayName="New Person",
        role="ORGANISER",
        areaIds=[str(org.area.id), estate["id"], str(org.area.id)],
    )
    assert errors == []
    assert member is not None
    assert member["email"] == "new.person@example.test"
    assert member["displayName"] == "New Person"

    user = await stored_user(services, "new.person@example.test")
    assert user is not None
    assert user.password_hash is None
    assert user.organisation_id == org.organisation.id
    assert user.role is Role.ORGANISER

    data = await gql.op("Members", {"role": "ORGANISER"}, token=org.token())
    [invited] = [e["node"] for e in data["members"]["edges"] if e["node"]["id"] == member["id"]]
    assert sorted(a["name"] for a in invited["areas"]) == ["Estate", "Inviting Ward"]

    [email] = await outbox_emails(services, "new.person@example.test")
    assert email["template"] == "invitation"
    assert email["user_id"] == member["id"]
    assert email["link"].startswith("http://doorstep.test/set-password?token=")

    # The link's token sets the password and signs the new member in.
    data = await gql.op(
        "SetPassword", {"input": {"token": token_of(email["link"]), "password": PASSWORD}}
    )
    assert data["setPassword"]["userErrors"] == []
    assert data["setPassword"]["user"] == {"id": member["id"], "displayName": "New Person"}
    me = await gql.op("Me", token=data["setPassword"]["session"]["accessToken"])
    assert me["me"]["role"] == "ORGANISER"
    assert me["me"]["organisation"]["name"] == "Inviting"
    assert sorted(a["name"] for a in me["me"]["areas"]) == ["Estate", "Inviting Ward"]

    # Once used, the link is spent.
    data = await gql.op(
        "SetPassword", {"input": {"token": token_of(email["link"]), "password": PASSWORD}}
    )
    assert [e["code"] for e in data["setPassword"]["userErrors"]] == ["EXPIRED"]

    # And the member can now sign in.
    data = await gql.op("Login", {"email": "new.person@example.test", "password": PASSWORD})
    assert data["login"]["userErrors"] == []


async def test_inviting_a_pending_member_again_resends(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    first, errors = await invite(
        gql, org.token(), email="pending@x.test", areaIds=[str(org.area.id)]
    )
    assert errors == [] and first is not None
    again, errors = await invite(
        gql, org.token(), email="pending@x.test", displayName="Renamed", role="TRAINER"
    )
    assert errors == []
    assert again == {"id": first["id"], "displayName": "Renamed", "email": "pending@x.test"}
    emails = await outbox_emails(services, "pending@x.test")
    assert len(emails) == 2
    assert emails[0]["link"] != emails[1]["link"]
    data = await gql.op("Members", {"role": "TRAINER"}, token=org.token())
    [node] = [e["node"] for e in data["members"]["edges"] if e["node"]["id"] == first["id"]]
    assert node["areas"] == []

    # Only the newest link works: the first one was retired by the second invitation.
    for email, codes in ((emails[0], ["EXPIRED"]), (emails[1], [])):
        data = await gql.op(
            "SetPassword", {"input": {"token": token_of(email["link"]), "password": PASSWORD}}
        )
        assert [e["code"] for e in data["setPassword"]["userErrors"]] == codes


async def test_a_reset_link_retires_an_unused_invitation_link_and_vice_versa(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    _, errors = await invite(gql, org.token(), email="pending@x.test")
    assert errors == []
    await gql.op("RequestPasswordReset", {"email": "pending@x.test"})
    _, errors = await invite(gql, org.token(), email="pending@x.test")
    assert errors == []
    invitation, reset, newest = await outbox_emails(services, "pending@x.test")
    assert [e["template"] for e in (invitation, reset, newest)] == [
        "invitation",
        "password_reset",
        "invitation",
    ]
    for email in (invitation, reset):
        data = await gql.op(
            "SetPassword", {"input": {"token": token_of(email["link"]), "password": PASSWORD}}
        )
        assert [e["code"] for e in data["setPassword"]["userErrors"]] == ["EXPIRED"]
    data = await gql.op(
        "SetPassword", {"input": {"token": token_of(newest["link"]), "password": PASSWORD}}
    )
    assert data["setPassword"]["userErrors"] == []


async def test_inviting_an_existing_member_is_already_done(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Done")
    member, errors = await invite(gql, org.token(), email="TRAINER@done.test", role="TRAINER")
    assert member is None
    assert errors == [
        {
            "field": "input.email",
            "message": "This person is already a member.",
            "code": "ALREADY_DONE",
        }
    ]
    assert await outbox_emails(services, "trainer@done.test") == []


async def test_email_of_another_organisation_reveals_nothing(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Mine")
    other: Org = await make_org("Theirs")
    # Both an active member and a pending invitee of the other organisation.
    _, errors = await invite(gql, other.token(), email="pending@theirs.test")
    assert errors == []
    for email in ("admin@theirs.test", "PENDING@theirs.test"):
        member, errors = await invite(gql, org.token(), email=email)
        assert member is None
        assert errors == [{"field": "input.email", "message": CANNOT_INVITE, "code": "INVALID"}]
        text = errors[0]["message"].lower()
        for leak in ("theirs", "exist", "already", "organisation", "member"):
            assert leak not in text
    pending = await stored_user(services, "pending@theirs.test")
    assert pending is not None and pending.organisation_id == other.organisation.id
    assert pending.display_name == "New Person"
    assert len(await outbox_emails(services, "pending@theirs.test")) == 1


async def test_senior_organisers_invite_organisers_only(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    senior = org.token(Role.SENIOR_ORGANISER)
    for role in ("ADMIN", "TRAINER", "SENIOR_ORGANISER"):
        member, errors = await invite(gql, senior, email=f"{role.lower()}@new.test", role=role)
        assert member is None
        assert [(e["field"], e["code"]) for e in errors] == [("input.role", "FORBIDDEN")]
    member, errors = await invite(gql, senior, email="organiser@new.test", role="ORGANISER")
    assert errors == []
    assert member is not None


async def test_senior_organisers_may_not_reinvite_a_pending_admin(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """Re-inviting rewrites role and areas: only for people the caller could invite."""
    org: Org = await make_org()
    _, errors = await invite(gql, org.token(), email="boss@new.test", role="ADMIN")
    assert errors == []
    member, errors = await invite(
        gql, org.token(Role.SENIOR_ORGANISER), email="boss@new.test", role="ORGANISER"
    )
    assert member is None
    assert [(e["field"], e["code"]) for e in errors] == [("input.email", "FORBIDDEN")]
    user = await stored_user(services, "boss@new.test")
    assert user is not None and user.role is Role.ADMIN


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.TRAINER])
async def test_organisers_and_trainers_may_not_invite(
    gql: GraphQLClient, make_org: Any, services: Services, role: Role
) -> None:
    from tests.contract_ops import op

    org: Org = await make_org()
    body = await gql.raw(
        op("InviteMember"),
        {"input": {"email": "x@new.test", "displayName": "X", "role": "ORGANISER"}},
        token=org.token(role),
    )
    assert error_codes(body) == ["FORBIDDEN"]
    assert await stored_user(services, "x@new.test") is None


@pytest.mark.parametrize("email", ["not-an-email", "two@@at.test", "no spaces@x.test", "a@b"])
async def test_bad_email_is_invalid(gql: GraphQLClient, make_org: Any, email: str) -> None:
    org: Org = await make_org()
    member, errors = await invite(gql, org.token(), email=email)
    assert member is None
    assert [(e["field"], e["code"]) for e in errors] == [("input.email", "INVALID")]


async def test_missing_email_and_name(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org()
    _, errors = await invite(gql, org.token(), email=" ")
    assert [(e["field"], e["code"]) for e in errors] == [("input.email", "REQUIRED")]
    _, errors = await invite(gql, org.token(), email="ok@new.test", displayName="  ")
    assert [(e["field"], e["code"]) for e in errors] == [("input.displayName", "REQUIRED")]


async def test_unknown_area_is_not_found(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org()
    for area_ids, field in (
        ([str(uuid.uuid4())], "input.areaIds.0"),
        ([str(org.area.id), "garbage"], "input.areaIds.1"),
        ([str(org.area.id), str(org.area.id), str(uuid.uuid4())], "input.areaIds.2"),
    ):
        member, errors = await invite(gql, org.token(), email="x@new.test", areaIds=area_ids)
        assert member is None
        assert errors == [{"field": field, "message": "No such area.", "code": "NOT_FOUND"}]
    assert await stored_user(services, "x@new.test") is None
    assert await outbox_emails(services, "x@new.test") == []


async def test_simultaneous_identical_invites_give_one_member_and_a_conflict(gql, make_org):
    org = await make_org("Race")
    variables = {"input": {"email": "twin@race.test", "displayName": "Twin", "role": "ORGANISER"}}
    answers = await asyncio.gather(
        *(gql.op("InviteMember", variables, token=org.token(Role.ADMIN)) for _ in range(4))
    )
    codes = sorted(e["code"] for a in answers for e in a["inviteMember"]["userErrors"])
    created = [a for a in answers if a["inviteMember"]["member"]]
    assert len(created) >= 1 and set(codes) <= {"CONFLICT"}
    members = await gql.op("Members", {"first": 50}, token=org.token(Role.ADMIN))
    emails = [e["node"]["email"] for e in members["members"]["edges"]]
    assert emails.count("twin@race.test") == 1
