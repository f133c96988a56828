"""The saq queue and the settings every job is enqueued with."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from saq.queue.redis import RedisQueue

# Each job family's limits: saq's defaults (timeout 10 s, 1 try) fit none of them.
JOB_OPTIONS: dict[str, dict[str, Any]] = {
    # One try: a failed row waits in the database (backoff, then DEAD; server.outbox).
    "handle_outbox": {"timeout": 60, "retries": 1},
    "dispatch": {
        "timeout": 300,
        "heartbeat": 30,
        "retries": 3,
        "retry_delay": 1.0,
        "retry_backoff": 30,
    },
    "fire_reminder": {"timeout": 60, "retries": 8, "retry_delay": 1.0, "retry_backoff": 60},
    "check_receipts": {"timeout": 120, "retries": 2},
    "send_digests": {"timeout": 600, "heartbeat": 60, "retries": 2},
}


async def enqueue(
    queue: RedisQueue,
    function: str,
    *,
    key: str | None = None,
    at: datetime | None = None,
    **kwargs: Any,
) -> bool:
    """Enqueue (or schedule for ``at``); False when a job with this key is already pending."""
    options = dict(JOB_OPTIONS.get(function, {}))
    if key is not None:
        options["key"] = key
    if at is not None and at.timestamp() > time.time():
        options["scheduled"] = int(at.timestamp())
    job = await queue.enqueue(function, **options, **kwargs)
    return job is not None
