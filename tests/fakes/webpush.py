"""A fake web push service that checks VAPID and decrypts each aes128gcm payload."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import http_ece  # type: ignore[import-untyped]
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import HttpFake

MAX_PAYLOAD_BYTES = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def vapid_key_pair() -> tuple[str, str]:
    """A VAPID private key (base64url raw, as settings take it) and its public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw), b64url(public)


@dataclass
class Subscription:
    """A browser's push subscription, with the private half a real browser would keep."""

    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def info(self) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def json(self) -> str:
        return json.dumps(self.info())

    def decrypt(self, body: bytes) -> bytes:
        return bytes(
            http_ece.decrypt(
                body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
            )
        )


@dataclass
class Push:
    subscription_id: str
    payload: dict[str, Any]  # the decrypted JSON
    headers: dict[str, str]
    vapid_claims: dict[str, Any] = field(default_factory=dict)


class FakePushService(HttpFake):
    def __init__(self, *, vapid_public_key: str | None = None) -> None:
        super().__init__()
        self.vapid_public_key = vapid_public_key  # when set, VAPID must be signed with it
        self.subscriptions: dict[str, Subscription] = {}
        self.gone: set[str] = set()  # subscription ids answered 410 Gone
        self.received: list[Push] = []
        self.refusals: list[str] = []  # why requests were refused (400/401/403/413)
        self._ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [Route("/push/{subscription_id}", self._push, methods=["POST"])]

    def subscribe(self) -> Subscription:
        sid = secrets.token_urlsafe(12)
        subscription = Subscription(
            id=sid,
            endpoint=f"{self.base_url}/push/{sid}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
        )
        self.subscriptions[sid] = subscription
        return subscription

    def _refuse(self, status: int, reason: str) -> Response:
        self.refusals.append(reason)
        return Response(reason, status_code=status)

    def _vapid_claims(self, authorization: str) -> dict[str, Any] | str:
        """The verified VAPID claims, or why they are not acceptable."""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            return "Authorization is not a VAPID header"
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        try:
            valid = Vapid02.verify(authorization)
        except (AssertionError, ValueError, KeyError):
            valid = False
        if not valid:
            return "VAPID signature does not verify"
        if self.vapid_public_key and parts.get("k") != self.vapid_public_key:
            return "VAPID key is not the one this subscription was made with"
        claims: dict[str, Any] = jwt.decode(parts["t"], options={"verify_signature": False})
        if claims.get("aud") != self.base_url:
            return f"VAPID aud {claims.get('aud')!r} is not {self.base_url!r}"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "VAPID sub must be a mailto: or https: URL"
        return claims

    async def _push(self, request: Request) -> Response:
        sid = request.path_params["subscription_id"]
        if sid in self.gone:
            return Response(status_code=410)
        subscription = self.subscriptions.get(sid)
        if subscription is None:
            return Response(status_code=404)
        scripted = await self.script.take()
        if scripted is not None:
            return scripted
        claims = self._vapid_claims(request.headers.get("authorization", ""))
        if isinstance(claims, str):
            return self._refuse(401, claims)
        if request.headers.get("content-encoding") != "aes128gcm":
            return self._refuse(400, "Content-Encoding must be aes128gcm")
        if "ttl" not in request.headers:
            return self._refuse(400, "TTL header missing")
        body = await request.body()
        if len(body) > MAX_PAYLOAD_BYTES:
            return self._refuse(413, "payload too large")
        try:
            payload = json.loads(subscription.decrypt(body))
        except Exception as exc:  # anything http_ece or json refuses
            return self._refuse(400, f"cannot decrypt: {exc!r}")
        self.received.append(Push(sid, payload, dict(request.headers), claims))
        return Response(
            status_code=201, headers={"Location": f"{self.base_url}/message/{next(self._ids)}"}
        )
