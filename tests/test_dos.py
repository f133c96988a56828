"""Cheap denial of service: small documents that used to keep the event loop busy.

Each is sent to a real `doorstep serve` process over a socket, with a /healthz request
right behind it: before the limits were linear, the fragment bomb took over 5 s to refuse
and /healthz waited for it. The bounds here are generous (1 s); bench/limits.py measures.
Then the caps on list arguments: a list over its maximum is refused, never cut short.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from graphql import GraphQLInputObjectType, get_named_type, get_nullable_type, is_list_type
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from schema import schema
from server.core.enums import Role
from server.core.settings import Settings
from tests.conftest import REDIS_URL, SECRET, GraphQLClient
from tests.helpers import start_api, stop_api
from tests.resident_helpers import (
    active_campaign,
    create_invitations,
    links,
    respond,
    response_input,
)

PROTOCOL = "graphql-transport-ws"
BOUND = 1.0  # seconds; unfixed, the fragment bomb alone took over 5


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One server for the module; make_org's tokens are signed with the same secret."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url,
        redis_url=REDIS_URL,
        redis_prefix=f"doorstep-test:{uuid.uuid4().hex}:",
        secret_key=SECRET,
        var_dir=var_dir,
    )
    process, base = await start_api(settings, var_dir)
    yield base
    await stop_api(process)


def fragment_bomb(levels: int = 20, spreads: int = 2, root: str = "query Bomb") -> str:
    """`fragment Fi on Query { ...Fi+1 ...Fi+1 __typename }`: 2^levels fields once expanded."""
    parts = [f"{root} {{ ...F0 }}"]
    for i in range(levels):
        inner = " ".join([f"...F{i + 1}"] * spreads)
        parts.append(f"fragment F{i} on Query {{ {inner} __typename }}")
    parts.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(parts)


def repeated_fields(count: int = 550) -> str:
    return "query Repeated { " + "me { id } " * count + "}"


def grown(make: Callable[[int], str], start: int, scale: int) -> str:
    """``make(n)`` for the smallest n at least ``scale`` times the size of ``make(start)``."""
    target = scale * len(make(start))
    low, high = start, start
    while len(make(high)) < target:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if len(make(middle)) < target else (low, middle)
    return make(high)


# Each shape at the size, then 10 and 100 times larger: more levels, more spreads
# in each fragment, more repeated fields.
SHAPES: dict[str, Callable[[int], str]] = {
    "levels": lambda scale: grown(lambda n: fragment_bomb(levels=n), 20, scale),
    "spreads": lambda scale: grown(lambda n: fragment_bomb(spreads=n), 2, scale),
    "repeated fields": lambda scale: grown(repeated_fields, 550, scale),
}
REFUSALS = {
    "QUERY_TOO_COSTLY": "The document costs ",
    "TOO_MANY_REPEATED_FIELDS": "The document repeats fields too often: 'me' is selected",
    None: "Syntax Error: Document contains more than 3000 tokens. Parsing aborted.",
}

CASES = [
    pytest.param(shape, scale, id=f"{shape}-x{scale}") for shape in SHAPES for scale in (1, 10, 100)
]


def test_the_shapes_grow_as_stated() -> None:
    assert 700 < len(fragment_bomb()) < 1100  # the 1 KB document
    for shape in SHAPES.values():
        assert 10 <= len(shape(10)) / len(shape(1)) < 10.5
        assert 100 <= len(shape(100)) / len(shape(1)) < 105


def assert_refused(errors: list[dict[str, Any]]) -> None:
    """One clear error: what was over which limit."""
    assert len(errors) == 1, errors
    [error] = errors
    code = (error.get("extensions") or {}).get("code")
    assert code in REFUSALS, error
    assert error["message"].startswith(REFUSALS[code]), error


async def timed(work: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await work
    return result, time.perf_counter() - start


async def healthz_behind(base: str, client: httpx.AsyncClient, attack: Any) -> float:
    """Run ``attack``; 20 ms in, ask /healthz. Both must finish within BOUND."""
    task = asyncio.ensure_future(timed(attack))
    await asyncio.sleep(0.02)
    health, health_seconds = await timed(client.get(f"{base}/healthz"))
    assert health.status_code == 200
    _, attack_seconds = await task
    assert attack_seconds < BOUND, f"refused after {attack_seconds:.2f} s"
    assert health_seconds < BOUND, f"/healthz answered after {health_seconds:.2f} s"
    return float(attack_seconds)


@pytest.mark.slow
class TestAgainstARealServer:
    @pytest.fixture
    def database_url(self, sqlite_url: str) -> str:
        """The server shares the tests' database (for make_org's members): SQLite will do,
        since nothing here reads a table."""
        return sqlite_url

    @pytest.mark.parametrize(("shape", "scale"), CASES)
    async def test_refused_at_once_over_http(self, api: str, shape: str, scale: int) -> None:
        document = SHAPES[shape](scale)
        async with httpx.AsyncClient(timeout=30) as client:
            responses: list[httpx.Response] = []

            async def attack() -> None:
                responses.append(await client.post(f"{api}/graphql", json={"query": document}))

            await healthz_behind(api, client, attack())
        [response] = responses
        body = response.json()
        assert body.get("data") is None
        assert_refused(body["errors"])

    @pytest.mark.parametrize(("shape", "scale"), CASES)
    async def test_refused_at_once_over_websockets(
        self, api: str, make_org: Any, shape: str, scale: int
    ) -> None:
        org = await make_org()
        document = SHAPES[shape](scale)
        async with (
            connect(api.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL]) as ws,  # type: ignore[list-item]
            httpx.AsyncClient(timeout=30) as client,
        ):
            init = {
                "type": "connection_init",
                "payload": {"authorization": org.token(Role.ORGANISER)},
            }
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            messages: list[dict[str, Any]] = []

            async def attack() -> None:
                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}})
                )
                try:
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=30)))
                except ConnectionClosed as closed:
                    # Strawberry closes the socket on a syntax error, the error as the reason.
                    assert closed.rcvd is not None and closed.rcvd.code == 4400
                    messages.append(
                        {"type": "error", "id": "1", "payload": [{"message": closed.rcvd.reason}]}
                    )

            await healthz_behind(api, client, attack())
        [message] = messages
        assert message["type"] == "error" and message["id"] == "1", message
        assert_refused(message["payload"])

    async def test_subscription_fragment_bomb_is_refused_at_once(
        self, api: str, make_org: Any
    ) -> None:
        org = await make_org()
        document = fragment_bomb(root="subscription Bomb").replace("on Query", "on Subscription")
        async with connect(api.replace("http", "ws") + "/graphql", subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            init = {
                "type": "connection_init",
                "payload": {"authorization": org.token(Role.ORGANISER)},
            }
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            start = time.perf_counter()
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": document}})
            )
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
            assert time.perf_counter() - start < BOUND
        assert message["type"] == "error", message
        assert_refused(message["payload"])


# --- List arguments ---------------------------------------------------------------------

# Every list argument of the schema (and list field of an input it takes): its maximum.
LIST_CAPS = {
    "UpdateMemberInput.areaIds": 100,
    "Mutation.markNotificationsRead(ids)": 100,
    "CreateAreaInput.postcodePrefixes": 100,
    "InviteMemberInput.areaIds": 100,
    "CampaignFilter.status": 3,
    "FollowUpFilter.status": 3,
    "CreateCampaignInput.organiserIds": 100,
    "CreateCampaignInput.questions": 50,
    "Mutation.updateQuestionSet(questions)": 50,
    "Mutation.assignOrganisers(userIds)": 100,
    "QuestionInput.choices": 20,
    "SyncConversationsInput.conversations": 500,
    "ConversationInput.answers": 50,
    "ConversationInput.themes": 20,
    "AnswerInput.choices": 20,
    "RecordAttendanceInput.marks": 200,
    "CreateProgrammeInput.competencies": 100,
    "CreateCohortInput.trainerIds": 20,
    "Mutation.setResponseThemes(themes)": 20,
    "CreateInvitationsInput.residentIds": 500,
    "ResponseInput.answers": 50,
}


def _list_arguments() -> dict[str, str | None]:
    """Coordinate -> description of every list-typed argument and input field."""
    found: dict[str, str | None] = {}
    seen: set[str] = set()

    def visit_input(type_: Any) -> None:
        named = get_named_type(type_)
        if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
            return
        seen.add(named.name)
        for name, field in named.fields.items():
            if is_list_type(get_nullable_type(field.type)):
                found[f"{named.name}.{name}"] = field.description
            visit_input(field.type)

    graphql_schema = schema._schema
    for root in (
        graphql_schema.query_type,
        graphql_schema.mutation_type,
        graphql_schema.subscription_type,
    ):
        for field_name, field in (root.fields if root else {}).items():
            for arg_name, arg in field.args.items():
                if is_list_type(get_nullable_type(arg.type)):
                    found[f"{root.name}.{field_name}({arg_name})"] = arg.description
                visit_input(arg.type)
    return found


def test_every_list_argument_states_its_maximum() -> None:
    found = _list_arguments()
    assert sorted(found) == sorted(LIST_CAPS), "give the new list argument a cap and a test"
    for coordinate, description in found.items():
        assert description and description.startswith(f"At most {LIST_CAPS[coordinate]} ")


def _prefixes(count: int) -> list[str]:
    return [f"E{i} {j}" for i in range(1, 100) for j in range(10)][:count]


async def test_mark_notifications_read_takes_at_most_100_ids(
    gql: GraphQLClient, make_org: Any
) -> None:
    org = await make_org()
    token = org.token(Role.ORGANISER)
    ids = [str(uuid.uuid4()) for _ in range(101)]
    data = await gql.op("MarkNotificationsRead", {"ids": ids}, token=token)
    assert data["markNotificationsRead"]["userErrors"] == [
        {
            "field": "ids",
            "message": "Send at most 100 notification ids at a time; this list has 101.",
            "code": "INVALID",
        }
    ]
    data = await gql.op("MarkNotificationsRead", {"ids": ids[:100]}, token=token)
    errors = data["markNotificationsRead"]["userErrors"]
    assert {e["code"] for e in errors} == {"NOT_FOUND"} and len(errors) == 100


async def test_invite_member_takes_at_most_100_areas(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    invite = {"email": "new@example.org", "displayName": "New", "role": "ORGANISER"}
    area_ids = [str(uuid.uuid4()) for _ in range(101)]
    data = await gql.op(
        "InviteMember", {"input": {**invite, "areaIds": area_ids}}, token=org.token()
    )
    assert data["inviteMember"] == {
        "member": None,
        "userErrors": [
            {
                "field": "input.areaIds",
                "message": "Send at most 100 area ids at a time; this list has 101.",
                "code": "INVALID",
            }
        ],
    }
    data = await gql.op(
        "InviteMember", {"input": {**invite, "areaIds": area_ids[:100]}}, token=org.token()
    )
    assert {e["code"] for e in data["inviteMember"]["userErrors"]} == {"NOT_FOUND"}


async def test_create_area_takes_at_most_100_postcode_prefixes(
    gql: GraphQLClient, make_org: Any
) -> None:
    org = await make_org()
    data = await gql.op(
        "CreateArea",
        {"input": {"name": "Too many", "postcodePrefixes": _prefixes(101)}},
        token=org.token(),
    )
    assert data["createArea"] == {
        "area": None,
        "userErrors": [
            {
                "field": "input.postcodePrefixes",
                "message": "Send at most 100 postcode prefixes at a time; this list has 101.",
                "code": "INVALID",
            }
        ],
    }
    data = await gql.op(
        "CreateArea",
        {"input": {"name": "Just enough", "postcodePrefixes": _prefixes(100)}},
        token=org.token(),
    )
    assert data["createArea"]["userErrors"] == []
    areas = await gql("{ areas { edges { node { name postcodePrefixes } } } }", token=org.token())
    [area] = [e["node"] for e in areas["areas"]["edges"] if e["node"]["name"] == "Just enough"]
    assert len(area["postcodePrefixes"]) == 100  # nothing cut short
    assert "Too many" not in [e["node"]["name"] for e in areas["areas"]["edges"]]


async def test_create_invitations_takes_at_most_500_residents(
    gql: GraphQLClient, make_org: Any
) -> None:
    org = await make_org()
    campaign = await active_campaign(gql, org)
    ids = [str(uuid.uuid4()) for _ in range(501)]
    created = await create_invitations(
        gql, org, {"campaignId": campaign.id, "channel": "SMS", "residentIds": ids}
    )
    assert created["invitations"] == []
    assert [(e["field"], e["code"]) for e in created["userErrors"]] == [
        ("input.residentIds", "INVALID")
    ]


async def test_a_response_takes_at_most_50_answers(gql: GraphQLClient, make_org: Any) -> None:
    org = await make_org()
    campaign = await active_campaign(gql, org)
    [token] = await links(gql, org, campaign)
    answers = [{"questionId": str(uuid.uuid4()), "text": "x"} for _ in range(51)]
    result = await respond(gql, token, response_input(campaign, answers=answers))
    assert result["response"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [("input.answers", "INVALID")]
