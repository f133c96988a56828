"""Access tokens as the API sees them: only a valid, unexpired token of ours signs a caller in."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest

from server.core.enums import Role
from server.core.models import utcnow
from server.core.services import Services
from server.core.settings import Settings
from server.security.tokens import AccessClaims, AccessTokens, InvalidToken
from tests.conftest import PASSWORD, SECRET, GraphQLClient, Org
from tests.contract_ops import op


def unauthenticated(body: dict[str, Any]) -> bool:
    errors = body.get("errors") or []
    return bool(errors) and errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


def claims_of(org: Org, role: Role = Role.ORGANISER, **changes: Any) -> dict[str, Any]:
    """The payload of a token that would be valid, with ``changes`` applied."""
    user = org.members[role]
    now = utcnow()
    payload: dict[str, Any] = {
        "sub": str(user.id),
        "org": str(org.organisation.id),
        "role": role.value,
        "sid": str(uuid.uuid4()),
        "iss": "doorstep",
        "aud": "doorstep-api",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_me_works_with_a_bearer_token(gql: GraphQLClient, make_org: Any) -> None:
    org: Org = await make_org("Alpha")
    data = await gql.op("Me", token=org.token(Role.TRAINER))
    assert data["me"]["id"] == str(org.members[Role.TRAINER].id)
    assert data["me"]["role"] == "TRAINER"
    # A token we would sign ourselves from the same claims works too (the control case
    # for the forgeries below).
    token = jwt.encode(claims_of(org, Role.TRAINER), SECRET, algorithm="HS256")
    assert (await gql.op("Me", token=token))["me"]["role"] == "TRAINER"


async def test_no_token_or_not_a_bearer_token_is_unauthenticated(
    gql: GraphQLClient, make_org: Any
) -> None:
    org: Org = await make_org("Alpha")
    assert unauthenticated(await gql.raw(op("Me")))
    for header in (f"Basic {org.token()}", "Bearer", "Bearer not.a.jwt", org.token()):
        response = await gql.http.post(
            "/graphql", json={"query": op("Me")}, headers={"Authorization": header}
        )
        assert unauthenticated(response.json()), header


async def test_expired_token_is_unauthenticated(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    org: Org = await make_org("Alpha")
    user = org.members[Role.ADMIN]
    issued_at = utcnow() - timedelta(minutes=services.settings.access_token_minutes, seconds=5)
    token, expires_at = services.access_tokens.issue(
        AccessClaims(user.id, org.organisation.id, Role.ADMIN, uuid.uuid4()), now=issued_at
    )
    assert expires_at < utcnow()
    assert unauthenticated(await gql.raw(op("Me"), token=token))


@pytest.mark.parametrize(
    "forgery",
    ["other-key", "alg-none", "wrong-issuer", "wrong-audience", "no-expiry", "hs512-other-key"],
)
async def test_forged_tokens_are_unauthenticated(
    gql: GraphQLClient, make_org: Any, forgery: str
) -> None:
    org: Org = await make_org("Alpha")
    other_key = "another-secret-key-that-is-also-long-enough"
    claims = claims_of(org, Role.ORGANISER)
    if forgery == "other-key":
        token = jwt.encode(claims, other_key, algorithm="HS256")
    elif forgery == "hs512-other-key":
        token = jwt.encode(claims, other_key + other_key, algorithm="HS512")
    elif forgery == "alg-none":
        claims["role"] = Role.ADMIN.value
        header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        token = f"{header}.{b64(json.dumps(claims).encode())}."
    elif forgery == "wrong-issuer":
        token = jwt.encode({**claims, "iss": "someone-else"}, SECRET, algorithm="HS256")
    elif forgery == "wrong-audience":
        token = jwt.encode({**claims, "aud": "another-api"}, SECRET, algorithm="HS256")
    else:
        token = jwt.encode(claims_of(org, Role.ORGANISER, exp=None), SECRET, algorithm="HS256")

    body = await gql.raw(op("Me"), token=token)
    assert unauthenticated(body), body
    assert body["data"] is None
    # Mutations behind sign-in refuse it the same way.
    device = {"platform": "IOS", "provider": "EXPO", "token": "ExponentPushToken[forged]"}
    body = await gql.raw(op("RegisterDevice"), {"input": device}, token=token)
    assert unauthenticated(body), body


async def test_advertised_expiry_is_the_tokens_real_expiry(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """The app refreshes at accessTokenExpiresAt: the token must not expire before that."""
    await make_org("Alpha")
    data = await gql.op("Login", {"email": "organiser@alpha.test", "password": PASSWORD})
    session = data["login"]["session"]
    advertised = datetime.fromisoformat(session["accessTokenExpiresAt"])
    payload = jwt.decode(session["accessToken"], options={"verify_signature": False})
    assert advertised.timestamp() == payload["exp"]
    lifetime = timedelta(minutes=services.settings.access_token_minutes)
    assert utcnow() < advertised <= utcnow() + lifetime


def test_access_tokens_round_trip_and_reject_tampering(settings: Settings) -> None:
    tokens = AccessTokens(settings)
    claims = AccessClaims(uuid.uuid4(), uuid.uuid4(), Role.SENIOR_ORGANISER, uuid.uuid4())
    token, _ = tokens.issue(claims)
    assert tokens.decode(token).claims == claims
    header, payload, signature = token.split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raised["role"] = Role.ADMIN.value
    with pytest.raises(InvalidToken):
        tokens.decode(f"{header}.{b64(json.dumps(raised).encode())}.{signature}")
    other = AccessTokens(settings.model_copy(update={"secret_key": "x" * 48}))
    with pytest.raises(InvalidToken):
        other.decode(token)


async def test_a_token_without_a_session_is_unauthenticated(
    gql: GraphQLClient, make_org: Any
) -> None:
    """Tokens from before revocation existed name no session, so nothing could revoke them.
    They live 15 minutes: refusing them signs such clients in again once."""
    org: Org = await make_org("Alpha")
    token = jwt.encode(claims_of(org, Role.TRAINER, sid=None), SECRET, algorithm="HS256")
    assert unauthenticated(await gql.raw(op("Me"), token=token))
    token = jwt.encode(claims_of(org, Role.TRAINER, sid="not-a-uuid"), SECRET, algorithm="HS256")
    assert unauthenticated(await gql.raw(op("Me"), token=token))


async def test_a_token_that_lives_longer_than_allowed_is_unauthenticated(
    gql: GraphQLClient, make_org: Any, services: Services
) -> None:
    """Signed correctly, but with a lifetime beyond DOORSTEP_ACCESS_TOKEN_MINUTES: refused
    (a leaked key, or a token minted under a longer setting, cannot outlive revocation)."""
    org: Org = await make_org("Alpha")
    now = int(utcnow().timestamp())
    allowed = services.settings.access_token_minutes * 60
    for iat, exp, ok in (
        (now, now + allowed, True),
        (now - 10, now + allowed - 10, True),
        (now, now + allowed + 1, False),
        (now, now + 365 * 24 * 3600, False),
        # Backdated: still unexpired, but issued longer ago than a token may live.
        (now - allowed - 60, now + 60, False),
    ):
        token = jwt.encode(
            claims_of(org, Role.TRAINER, iat=iat, exp=exp), SECRET, algorithm="HS256"
        )
        body = await gql.raw(op("Me"), token=token)
        assert unauthenticated(body) is not ok, (iat - now, exp - now, body)


def test_the_lifetime_follows_the_setting(settings: Settings) -> None:
    short = AccessTokens(settings.model_copy(update={"access_token_minutes": 5}))
    long = AccessTokens(settings.model_copy(update={"access_token_minutes": 60}))
    claims = AccessClaims(uuid.uuid4(), uuid.uuid4(), Role.ORGANISER, uuid.uuid4())
    token, _ = long.issue(claims)
    assert long.decode(token).claims == claims
    with pytest.raises(InvalidToken, match="lifetime"):
        short.decode(token)
    token, _ = short.issue(claims)
    assert long.decode(token).claims == claims
