"""What is measured: each workload's server, request, and how its responses are checked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bench.http.anchors import ITEMS_QUERY
from tests.contract_ops import op

DOORSTEP = "doorstep"
STARLETTE = "starlette"
STRAWBERRY = "strawberry"


@dataclass(frozen=True)
class Workload:
    """One request, sent over and over. Every response must be 200, have no ``errors``,
    and hold ``"<key>":`` exactly ``expected`` times (one per item shown)."""

    name: str
    server: str
    path: str
    key: str
    expected: int
    body: dict[str, Any] | None = None  # None: a GET
    authenticated: bool = False

    @property
    def payload(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body).encode()

    @property
    def lua_pattern(self) -> str:
        return f'"{self.key}"%s*:'

    def problem(self, status: int, text: str) -> str | None:
        """Why a response is wrong, or None; the same test wrk's Lua applies."""
        if status != 200:
            return f"status {status}: {text[:300]}"
        try:
            parsed = json.loads(text)
        except ValueError:
            return f"not JSON: {text[:300]}"
        if isinstance(parsed, dict) and parsed.get("errors"):
            return f"errors: {text[:300]}"
        if '"errors"' in text:
            return f"an errors key: {text[:300]}"
        found = len(re.findall(rf'"{re.escape(self.key)}"\s*:', text))
        if found != self.expected:
            return f"{found} x {self.key!r}, expected {self.expected}: {text[:300]}"
        return None


def _graphql(name: str) -> dict[str, Any]:
    return {"query": op(name), "variables": {}, "operationName": name}


def _items(n: int) -> dict[str, Any]:
    return {"query": ITEMS_QUERY, "variables": {"n": n}, "operationName": "Items"}


# In each round the workloads take turns in this order; the first three are the anchors.
WORKLOADS: list[Workload] = [
    Workload("starlette", STARLETTE, "/", "status", 1),
    Workload("strawberry-1", STRAWBERRY, "/graphql", "email", 1, _items(1)),
    Workload("strawberry-100", STRAWBERRY, "/graphql", "email", 100, _items(100)),
    Workload("Me", DOORSTEP, "/graphql", "notificationPreferences", 1, _graphql("Me"), True),
    Workload("Areas", DOORSTEP, "/graphql", "postcodePrefixes", 20, _graphql("Areas"), True),
    Workload("Members", DOORSTEP, "/graphql", "email", 50, _graphql("Members"), True),
    Workload("AuditLog", DOORSTEP, "/graphql", "occurredAt", 50, _graphql("AuditLog"), True),
    Workload(
        "MyNotifications", DOORSTEP, "/graphql", "readAt", 30, _graphql("MyNotifications"), True
    ),
    # 20 campaigns, each with 3 organisers, 5 questions and 10 themes (seed.py).
    Workload("MyCampaigns", DOORSTEP, "/graphql", "startsOn", 20, _graphql("MyCampaigns"), True),
    # 200 conversations of one campaign; its id is filled in after seeding (run.py).
    Workload(
        "ConversationChanges",
        DOORSTEP,
        "/graphql",
        "occurredAt",
        200,
        _graphql("ConversationChanges"),
        True,
    ),
    # A cohort of 50 trainees with 12 sessions and 10 competencies (seed.py); its id is
    # filled in after seeding. One "onTrack" per trainee.
    Workload(
        "CohortProgress", DOORSTEP, "/graphql", "onTrack", 50, _graphql("CohortProgress"), True
    ),
]
ANCHORS = ("starlette", "strawberry-1", "strawberry-100")
BY_NAME = {w.name: w for w in WORKLOADS}
