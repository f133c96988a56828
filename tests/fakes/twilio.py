"""A fake Twilio Messages API (basic auth, form posts) that can sign status callbacks."""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.notifications.twilio import compute_signature
from tests.fakes.server import HttpFake, form_dict

FROM_NUMBER = "+15005550006"


def twilio_error(code: int, status: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class SentSms:
    sid: str
    form: dict[str, str]
    authorization: str


class FakeTwilio(HttpFake):
    def __init__(self) -> None:
        super().__init__()
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.sent: list[SentSms] = []  # accepted messages
        self.authorizations: list[str] = []  # Authorization header of every request
        self.invalid_numbers: set[str] = set()  # 400, error 21211
        self.not_mobile: set[str] = set()  # 400, error 21614
        self.unsubscribed: set[str] = set()  # 400, error 21610 (replied STOP)
        self._ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json", self._create, methods=["POST"]
            )
        ]

    def settings(self) -> dict[str, Any]:
        return {
            "twilio_url": self.base_url,
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
            "twilio_from_number": FROM_NUMBER,
        }

    def status_callback(
        self, sid: str, status: str, *, error_code: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """The URL, form and headers Twilio would POST for ``sid`` moving to ``status``."""
        sms = next(s for s in self.sent if s.sid == sid)
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": sms.form["From"],
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": sms.form["To"],
        }
        if error_code:
            form["ErrorCode"] = error_code
        url = sms.form["StatusCallback"]
        headers = {"X-Twilio-Signature": compute_signature(self.auth_token, url, form)}
        return url, form, headers

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _create(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("authorization", ""))
        if not self._authorized(request) or (
            request.path_params["account_sid"] != self.account_sid
        ):
            return JSONResponse(twilio_error(20003, 401, "Authenticate"), status_code=401)
        scripted = await self.script.take()
        if scripted is not None:
            return scripted
        form = await form_dict(request)
        to = form.get("To", "")
        if not form.get("From") or not form.get("Body"):
            return JSONResponse(
                twilio_error(21602, 400, "Message body is required."), status_code=400
            )
        if to in self.invalid_numbers or not to.startswith("+"):
            error = twilio_error(21211, 400, f"The 'To' number {to} is not a valid phone number.")
            return JSONResponse(error, status_code=400)
        if to in self.not_mobile:
            error = twilio_error(21614, 400, f"'To' number {to} is not a valid mobile number")
            return JSONResponse(error, status_code=400)
        if to in self.unsubscribed:
            error = twilio_error(21610, 400, "Attempt to send to unsubscribed recipient")
            return JSONResponse(error, status_code=400)
        sid = f"SM{next(self._ids):032x}"
        self.sent.append(SentSms(sid, form, request.headers.get("authorization", "")))
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": form["From"],
                "body": form["Body"],
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            },
            status_code=201,
        )
