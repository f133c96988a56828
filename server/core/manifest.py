"""What a domain brings, declared once in ``server/<domain>/manifest.py``.

``server.domains`` lists the domains and gathers their manifests into one ``Registry``:
the worker registers its jobs and outbox handlers from it, the schema root merges the
domains' GraphQL classes in the same order, Alembic and the tests load every model from it.
Gathering refuses two domains claiming one topic, job, reminder kind or template. A domain
announces what happened in its transaction with a ``Signal`` it declares; other domains
listen through their manifests (``Domain.listeners``), so the announcer imports none of
them. Work is
staged with the Topic or ReminderKind object itself, which carries its handler, and
tests/test_domains.py proves every one made in server/ is in a manifest: a handler or a
resolver the worker does not know cannot be staged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from saq.queue.redis import RedisQueue
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlmodel import SQLModel
    from starlette.routing import BaseRoute

    from server.accounts.models import User
    from server.core.services import Services
    from server.notifications.models import Reminder
    from server.notifications.rows import NewNotification
    from server.notifications.spec import NotifySpec
    from server.notifications.templates import Template
    from server.outbox.models import OutboxMessage


class JobContext(Protocol):
    """What a job or an outbox handler is given: the process's services and the queue."""

    @property
    def services(self) -> Services: ...

    @property
    def queue(self) -> RedisQueue: ...

    @property
    def registry(self) -> Registry: ...


C = TypeVar("C", bound=JobContext, contravariant=True)


@dataclass(frozen=True)
class JobOptions:
    """saq's limits for one family of jobs (its defaults, 10 s and one try, fit none)."""

    timeout: int = 60
    heartbeat: int = 0
    retries: int = 1
    retry_delay: float = 0.0
    retry_backoff: bool | float = False

    def saq(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "heartbeat": self.heartbeat,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "retry_backoff": self.retry_backoff,
        }


@dataclass(frozen=True)
class JobRef:
    """A job known by name where its function cannot be imported (the worker's own jobs)."""

    name: str
    options: JobOptions


@dataclass(frozen=True)
class Job(Generic[C]):
    """A job: its function (called with the context first), its limits and its cron line.

    The function is the job's name, so nothing repeats it as a string.
    """

    function: Callable[Concatenate[C, ...], Awaitable[object]]
    options: JobOptions = JobOptions()
    cron: str | None = None

    @property
    def name(self) -> str:
        return self.function.__name__


# An outbox topic's handler works in the session (the caller commits) and returns the
# notifications it created, which the worker publishes and dispatches once committed.
OutboxHandler = Callable[
    [JobContext, "AsyncSession", "OutboxMessage"], Awaitable[list["NewNotification"]]
]
# Given a due reminder, what to send now (nothing when its subject no longer needs it).
ReminderResolver = Callable[["AsyncSession", "Reminder"], Awaitable[list["NotifySpec"]]]
# Lines for one person's digest on a local date (empty: nothing to say).
DigestLines = Callable[["AsyncSession", "User", date], Awaitable[list[str]]]

P = TypeVar("P")
# Runs in the announcer's transaction (the announcer commits), given what it announced.
Listener = Callable[["AsyncSession", Any], Awaitable[None]]


@dataclass(frozen=True)
class Signal(Generic[P]):
    """Something a domain announces inside its transaction, with a payload of type P.

    Listeners come from the manifests (``Domain.listeners``) and run in the order of
    ``server.domains.DOMAINS``, in the same transaction: what they change commits or rolls
    back with the announcer's change.
    """

    name: str

    async def fire(self, session: AsyncSession, payload: P) -> None:
        # Imported here: the registry gathers the manifests, which import the signals.
        from server.domains import REGISTRY

        for listener in REGISTRY.listeners.get(self.name, ()):
            await listener(session, payload)


# Every Topic and ReminderKind made, so a test can prove each one is in a manifest.
DECLARED: list[Topic | ReminderKind] = []


@dataclass(frozen=True)
class Topic:
    """An outbox topic and the handler it is staged for; staging takes the Topic itself."""

    name: str
    handler: OutboxHandler

    def __post_init__(self) -> None:
        DECLARED.append(self)


@dataclass(frozen=True)
class ReminderKind:
    """A kind of reminder and its resolver; scheduling takes the ReminderKind itself."""

    name: str
    resolve: ReminderResolver

    def __post_init__(self) -> None:
        DECLARED.append(self)


@dataclass(frozen=True)
class DigestSection:
    name: str
    lines: DigestLines


@dataclass(frozen=True)
class Domain:
    name: str
    models: tuple[type[SQLModel], ...] = ()
    outbox: tuple[Topic, ...] = ()
    jobs: tuple[Job[Any], ...] = ()
    reminders: tuple[ReminderKind, ...] = ()
    digest_sections: tuple[DigestSection, ...] = ()
    # Templates by name, English first (server.notifications.templates renders them).
    templates: Mapping[str, Template] = field(default_factory=dict)
    # Another domain's signals this domain listens to, each with its listener.
    listeners: tuple[tuple[Signal[Any], Listener], ...] = ()
    # Web routes of the domain's own pages (server-rendered HTML, files), added to the app.
    routes: tuple[BaseRoute, ...] = ()


@dataclass(frozen=True)
class Registry:
    domains: tuple[Domain, ...]
    models: tuple[type[SQLModel], ...]
    outbox: Mapping[str, Topic]
    jobs: Mapping[str, Job[Any]]
    reminders: Mapping[str, ReminderKind]
    digest_sections: Mapping[str, DigestSection]
    templates: Mapping[str, Template]
    listeners: Mapping[str, tuple[Listener, ...]]
    routes: tuple[BaseRoute, ...]

    @classmethod
    def gather(cls, domains: Iterable[Domain]) -> Registry:
        domains = tuple(domains)
        _unique("domain", [(d.name, d.name) for d in domains])
        return cls(
            domains=domains,
            models=tuple(m for d in domains for m in d.models),
            outbox=_merge("outbox topic", domains, lambda d: _named(d.outbox)),
            jobs=_merge("job", domains, lambda d: _named(d.jobs)),
            reminders=_merge("reminder kind", domains, lambda d: _named(d.reminders)),
            digest_sections=_merge("digest section", domains, lambda d: _named(d.digest_sections)),
            templates=_merge("template", domains, lambda d: d.templates.items()),
            listeners=_listeners(domains),
            routes=tuple(r for d in domains for r in d.routes),
        )


V = TypeVar("V")
N = TypeVar("N", Topic, ReminderKind, DigestSection, Job[Any])


def _named(items: tuple[N, ...]) -> list[tuple[str, N]]:
    return [(item.name, item) for item in items]


def _merge(
    what: str, domains: tuple[Domain, ...], items: Callable[[Domain], Iterable[tuple[str, V]]]
) -> dict[str, V]:
    pairs = [(d.name, key, value) for d in domains for key, value in items(d)]
    _unique(what, [(key, owner) for owner, key, _ in pairs])
    return {key: value for _, key, value in pairs}


def _listeners(domains: tuple[Domain, ...]) -> dict[str, tuple[Listener, ...]]:
    """Each signal's listeners, in the order of the domains (several may listen)."""
    found: dict[str, tuple[Listener, ...]] = {}
    for domain in domains:
        for signal, listener in domain.listeners:
            found[signal.name] = (*found.get(signal.name, ()), listener)
    return found


def _unique(what: str, keys: list[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for key, owner in keys:
        if key in seen:
            raise ValueError(f"{what} {key!r} is declared by both {seen[key]} and {owner}")
        seen[key] = owner
