"""The domain list is the one place a domain plugs in: nothing it declares can be missed."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

import server
from schema.root import PARTS
from server.core.manifest import DECLARED, Domain, Job, Registry, ReminderKind, Signal, Topic
from server.core.settings import Settings
from server.domains import DOMAINS, REGISTRY
from server.notifications.wake import DISPATCH
from workers.main import WORKER_JOBS, build_worker


def _import_all_of_server() -> None:
    for module in pkgutil.walk_packages(server.__path__, "server."):
        importlib.import_module(module.name)


def test_every_topic_and_reminder_kind_in_server_is_in_a_manifest() -> None:
    _import_all_of_server()
    made = [d for d in DECLARED if _in_server(d)]
    assert made, "no topics found: the check would prove nothing"
    missing = [
        d.name
        for d in made
        if (REGISTRY.outbox if isinstance(d, Topic) else REGISTRY.reminders).get(d.name) is not d
    ]
    assert missing == []


def _in_server(declared: Topic | ReminderKind) -> bool:
    function = declared.handler if isinstance(declared, Topic) else declared.resolve
    return function.__module__.startswith("server.")


def test_every_table_belongs_to_one_domain() -> None:
    _import_all_of_server()
    declared = [m.__tablename__ for m in REGISTRY.models]
    assert sorted(declared) == sorted(SQLModel.metadata.tables)
    assert len(declared) == len(set(declared))


def test_the_worker_runs_every_job_the_domains_declare(tmp_path: Path) -> None:
    worker = build_worker(
        Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0", var_dir=tmp_path)  # type: ignore[call-arg]
    )
    registered = set(worker.functions)
    assert set(REGISTRY.jobs) <= registered
    assert DISPATCH.name in registered
    assert {"handle_outbox", "check_receipts", "fire_reminder", "send_digests"} <= registered
    crons = {c.function.__qualname__: c.cron for c in worker.cron_jobs}
    declared = {j.name: j.cron for j in (*WORKER_JOBS, *REGISTRY.jobs.values()) if j.cron}
    assert crons == declared
    assert {"check_receipts": "*/5 * * * *", "send_digests": "0 * * * *"}.items() <= crons.items()


def test_every_schema_package_belongs_to_a_listed_domain() -> None:
    root = Path(__file__).resolve().parents[1] / "schema"
    packages = {p.parent.name for p in root.glob("*/manifest.py")}
    assert packages <= {d.name for d in DOMAINS}
    assert len(PARTS) == len(packages)


async def _noop(ctx: object) -> None:
    return None


def test_two_domains_cannot_claim_one_name() -> None:
    job = Job(_noop)
    with pytest.raises(ValueError, match="job '_noop' is declared by both a and b"):
        Registry.gather([Domain(name="a", jobs=(job,)), Domain(name="b", jobs=(job,))])
    with pytest.raises(ValueError, match="domain 'a'"):
        Registry.gather([Domain(name="a"), Domain(name="a")])


async def handle_outbox(ctx: object) -> None:
    """A domain job that takes the name of the worker's own."""


def test_a_domain_job_cannot_take_the_name_of_the_workers_own(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/0", var_dir=tmp_path)  # type: ignore[call-arg]
    clash = Registry.gather((*DOMAINS, Domain(name="clash", jobs=(Job(handle_outbox),))))
    with pytest.raises(ValueError, match="worker's own"):
        build_worker(settings, registry=clash)


async def test_a_signal_reaches_every_listening_domain_in_order() -> None:
    """Registry.gather collects each domain's listeners by signal, in the domains' order."""
    heard: list[tuple[str, object]] = []
    signal: Signal[int] = Signal("test.signal")

    def listener(name: str) -> Any:
        async def listen(session: Any, payload: int) -> None:
            heard.append((name, payload))

        return listen

    registry = Registry.gather(
        [
            Domain("a", listeners=((signal, listener("a")),)),
            Domain("b"),
            Domain("c", listeners=((signal, listener("c")),)),
        ]
    )
    for listen in registry.listeners[signal.name]:
        await listen(None, 7)
    assert heard == [("a", 7), ("c", 7)]
    assert "test.signal" not in REGISTRY.listeners
