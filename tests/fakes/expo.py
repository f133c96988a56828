"""A fake Expo push service: /--/api/v2/push/send and /--/api/v2/push/getReceipts.

Records every accepted message (with its ``data``, which carries ``delivery_id``) so a test
or benchmark can count deliveries per delivery id; ``GET /_fake/stats`` gives the same
counts to another process.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import HttpFake, Script

SEND_PATH = "/--/api/v2/push/send"
RECEIPTS_PATH = "/--/api/v2/push/getReceipts"
MAX_MESSAGES = 100
MAX_RECEIPT_IDS = 1000


def _request_error(code: str, message: str, status: int = 400) -> Response:
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status)


def _ticket_error(token: str, code: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"{token!r} could not be sent to: {code}",
        "details": {"error": code, "expoPushToken": token},
    }


@dataclass
class SendRequest:
    headers: dict[str, str]
    count: int


class FakeExpo(HttpFake):
    def __init__(self, *, access_token: str | None = None) -> None:
        super().__init__()
        self.access_token = access_token  # when set, requests must carry it as Bearer
        self.receipts_script = Script()  # self.script scripts the send endpoint
        self.messages: list[dict[str, Any]] = []  # accepted messages, in arrival order
        self.send_requests: list[SendRequest] = []  # every send request that got tickets
        self.receipt_requests: list[list[str]] = []
        self.unregistered: set[str] = set()  # tokens whose tickets say DeviceNotRegistered
        self.ticket_errors: dict[str, str] = {}  # token -> ticket error (MessageTooBig...)
        self.receipt_errors: dict[str, str] = {}  # token -> receipt error code
        self.receipts_ready = True  # False: getReceipts knows no ids yet
        self.tickets: dict[str, dict[str, Any]] = {}  # ticket id -> the message
        self._ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(SEND_PATH, self._send, methods=["POST"]),
            Route(RECEIPTS_PATH, self._receipts, methods=["POST"]),
            Route("/_fake/stats", self._stats, methods=["GET"]),
            Route("/_fake/script", self._control, methods=["POST"]),
        ]

    @property
    def send_url(self) -> str:
        return self.base_url + SEND_PATH

    @property
    def receipts_url(self) -> str:
        return self.base_url + RECEIPTS_PATH

    def settings(self) -> dict[str, Any]:
        """Settings fields that point the Expo channel here."""
        return {
            "expo_push_url": self.send_url,
            "expo_receipts_url": self.receipts_url,
            "expo_access_token": self.access_token,
        }

    def delivery_counts(self) -> Counter[str]:
        """Accepted messages per ``data["delivery_id"]``: exactly-once means all 1s."""
        return Counter(str(m.get("data", {}).get("delivery_id")) for m in self.messages)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.delivery_counts().items() if n > 1}

    def reset(self) -> None:
        self.messages.clear()
        self.send_requests.clear()
        self.receipt_requests.clear()
        self.tickets.clear()
        self.script.clear()
        self.receipts_script.clear()

    def _authorized(self, request: Request) -> bool:
        return not self.access_token or (
            request.headers.get("authorization") == f"Bearer {self.access_token}"
        )

    async def _send(self, request: Request) -> Response:
        if not self._authorized(request):
            return _request_error("UNAUTHORIZED", "bad or missing access token", 401)
        # A real provider has the whole request before it is slow or fails: read it first,
        # so a sender that dies while waiting for the answer still counts as having sent.
        body = await request.body()
        scripted = await self.script.take()
        if scripted is not None:
            return scripted
        try:
            messages = json.loads(body)
        except ValueError:
            return _request_error("VALIDATION_ERROR", "body is not JSON")
        if isinstance(messages, dict):
            messages = [messages]
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return _request_error("VALIDATION_ERROR", "expected a list of messages")
        if len(messages) > MAX_MESSAGES:
            return _request_error(
                "PUSH_TOO_MANY_NOTIFICATIONS", f"more than {MAX_MESSAGES} messages"
            )
        self.send_requests.append(SendRequest(dict(request.headers), len(messages)))
        return JSONResponse({"data": [self._ticket(m) for m in messages]})

    def _ticket(self, message: dict[str, Any]) -> dict[str, Any]:
        token = str(message.get("to"))
        if token in self.unregistered:
            return _ticket_error(token, "DeviceNotRegistered")
        if token in self.ticket_errors:
            return _ticket_error(token, self.ticket_errors[token])
        ticket_id = f"{next(self._ids):08d}-{uuid.uuid4()}"
        self.tickets[ticket_id] = message
        self.messages.append(message)
        return {"status": "ok", "id": ticket_id}

    async def _receipts(self, request: Request) -> Response:
        scripted = await self.receipts_script.take()
        if scripted is not None:
            return scripted
        body = await request.json()
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            return _request_error("VALIDATION_ERROR", '"ids" must be a list')
        if len(ids) > MAX_RECEIPT_IDS:
            return _request_error("VALIDATION_ERROR", f"more than {MAX_RECEIPT_IDS} ids")
        self.receipt_requests.append([str(i) for i in ids])
        data: dict[str, Any] = {}
        if self.receipts_ready:
            for ticket_id in ids:
                message = self.tickets.get(str(ticket_id))
                if message is None:
                    continue
                code = self.receipt_errors.get(str(message.get("to")))
                data[str(ticket_id)] = (
                    _ticket_error(str(message.get("to")), code) if code else {"status": "ok"}
                )
        return JSONResponse({"data": data})

    async def _control(self, request: Request) -> Response:
        """Script the send endpoint from another process, e.g.
        ``{"fail_next": {"count": 2, "status": 429, "retry_after": 3}}``,
        ``{"slow_next": {"count": 1, "seconds": 2}}``, ``{"latency": 0.05}``,
        ``{"unregistered": ["ExponentPushToken[x]"]}``, ``{"clear": true}``."""
        body = await request.json()
        if not isinstance(body, dict):
            return _request_error("VALIDATION_ERROR", "expected an object")
        if body.get("clear"):
            self.script.clear()
        if "fail_next" in body:
            self.script.fail_next(**body["fail_next"])
        if "slow_next" in body:
            self.script.slow_next(**body["slow_next"])
        if "latency" in body:
            self.script.latency = float(body["latency"])
        self.unregistered.update(body.get("unregistered", []))
        return JSONResponse({"pending": self.script.pending, "latency": self.script.latency})

    async def _stats(self, request: Request) -> Response:
        counts = self.delivery_counts()
        return JSONResponse(
            {
                "requests": len(self.send_requests),
                "messages": len(self.messages),
                "deliveries": len(counts),
                "duplicates": self.duplicates(),
            }
        )
