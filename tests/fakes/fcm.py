"""A fake FCM HTTP v1 endpoint with Google's OAuth token endpoint beside it."""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import HttpFake, Script, form_dict

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_PAYLOAD_BYTES = 4096
TOKEN_PATH = "/token"


def fcm_error(code: int, status: str, error_code: str | None = None) -> dict[str, Any]:
    """An FCM v1 error body, e.g. ``fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")``."""
    error: dict[str, Any] = {"code": code, "message": f"{status} (fake)", "status": status}
    if error_code:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    return {"error": error}


@dataclass
class TokenRequest:
    claims: dict[str, Any]
    key_id: str | None
    access_token: str


class FakeFcm(HttpFake):
    def __init__(self, *, project_id: str = "doorstep-test", token_lifetime: int = 3600) -> None:
        super().__init__()
        self.project_id = project_id
        self.token_lifetime = token_lifetime
        self.token_script = Script()  # self.script scripts the send endpoint
        self.client_email = f"fcm-sender@{project_id}.iam.gserviceaccount.com"
        self.key_id = secrets.token_hex(20)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.access_tokens: set[str] = set()  # tokens the send endpoint accepts
        self.token_requests: list[TokenRequest] = []
        self.messages: list[dict[str, Any]] = []  # accepted "message" objects
        self.authorizations: list[str] = []  # Authorization header of every send
        self.unregistered: set[str] = set()  # tokens answered 404 UNREGISTERED
        self.invalid: set[str] = set()  # tokens answered 400 INVALID_ARGUMENT
        self._ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/projects/{project_id}/messages:send", self._send, methods=["POST"]),
            Route(TOKEN_PATH, self._token, methods=["POST"]),
        ]

    @property
    def send_url_template(self) -> str:
        return self.base_url + "/v1/projects/{project_id}/messages:send"

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def service_account(self, path: Path) -> Path:
        """Write a service-account key file whose token_uri is this fake; returns the path."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": "1234567890",
            "token_uri": self.token_url,
        }
        path.write_text(json.dumps(info))
        return path

    def settings(self, credentials_file: Path | None = None) -> dict[str, Any]:
        """Settings fields for the FCM channel: a key file, or else a ready access token."""
        values: dict[str, Any] = {
            "fcm_url": self.send_url_template,
            "fcm_project_id": self.project_id,
        }
        if credentials_file is not None:
            values["fcm_credentials_file"] = self.service_account(credentials_file)
        else:
            values["fcm_access_token"] = self.issue_token()
        return values

    def issue_token(self) -> str:
        token = f"ya29.fake-{secrets.token_urlsafe(16)}"
        self.access_tokens.add(token)
        return token

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (the send endpoint answers 401)."""
        self.access_tokens.clear()

    async def _token(self, request: Request) -> Response:
        scripted = await self.token_script.take()
        if scripted is not None:
            return scripted
        form = await form_dict(request)
        if form.get("grant_type") != JWT_BEARER:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        assertion = form.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_email,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.InvalidTokenError as exc:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": str(exc)}, status_code=400
            )
        if claims["scope"] != FCM_SCOPE or header.get("kid") != self.key_id:
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = self.issue_token()
        self.token_requests.append(TokenRequest(claims, header.get("kid"), token))
        return JSONResponse(
            {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    async def _send(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        self.authorizations.append(authorization)
        if request.path_params["project_id"] != self.project_id:
            return JSONResponse(fcm_error(404, "NOT_FOUND"), status_code=404)
        if authorization.removeprefix("Bearer ") not in self.access_tokens:
            return JSONResponse(fcm_error(401, "UNAUTHENTICATED"), status_code=401)
        scripted = await self.script.take()
        if scripted is not None:
            return scripted
        body = await request.json()
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("token"), str):
            return self._invalid()
        data = message.get("data") or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return self._invalid()
        content = {k: v for k, v in message.items() if k != "token"}
        # FCM counts keys and values; compact JSON of the content over-counts slightly.
        compact = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        if len(compact.encode()) > MAX_PAYLOAD_BYTES:
            return self._invalid()
        token = message["token"]
        if token in self.unregistered:
            return JSONResponse(fcm_error(404, "NOT_FOUND", "UNREGISTERED"), status_code=404)
        if token in self.invalid:
            return self._invalid()
        self.messages.append(message)
        return JSONResponse({"name": f"projects/{self.project_id}/messages/{next(self._ids)}"})

    @staticmethod
    def _invalid() -> Response:
        return JSONResponse(fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), status_code=400)
