"""Puts the GraphQL operation's name and the caller's user id on every log line it causes."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from server.core import logs

MAX_NAME_CHARS = 100


class LogContext(SchemaExtension):
    """Set, not reset: the values stay for the rest of the request (uvicorn's access line
    included) and end with the request's log context (server.web.requestid)."""

    def _set_operation(self) -> None:
        name = self.execution_context.operation_name
        logs.operation.set(name[:MAX_NAME_CHARS] if name else None)

    def on_operation(self) -> Iterator[None]:
        actor = getattr(self.execution_context.context, "actor", None)
        logs.user_id.set(str(actor.user_id) if actor is not None else None)
        self._set_operation()
        yield

    def on_validate(self) -> Iterator[None]:
        self._set_operation()  # parsed now: the name of a document's only operation
        yield
