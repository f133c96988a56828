"""The GraphQL layer: a thin Strawberry schema over the domain functions in server/."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.documents import CachedDocuments, DocumentCache
from schema.execution import Executor
from schema.limits import DocumentLimits, Limits, limits_rule
from schema.logcontext import LogContext
from schema.root import Mutation, Query, Subscription
from schema.scalars import SCALAR_OVERRIDES
from server.core.errors import AccessDenied, UserError
from server.core.settings import Settings
from server.web.requestid import request_id

SDL_PATH = Path(__file__).with_name("schema.graphql")
log = logging.getLogger("doorstep.graphql")

_EXPECTED = (GraphQLError, AccessDenied, UserError)
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def is_expected(error: GraphQLError) -> bool:
    """Validation, permission and input errors are the client's to see; the rest is ours."""
    return error.original_error is None or isinstance(error.original_error, _EXPECTED)


class DoorstepSchema(strawberry.Schema):
    @staticmethod
    def remove_field_suggestion(error: GraphQLError) -> None:
        """With suggestions off, Strawberry strips them for fields only; strip every kind
        (arguments, types, enum values, input fields), or they spell out the schema."""
        error.message = _SUGGESTION.sub("", error.message)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if not is_expected(error):
                log.error(
                    "unexpected error in %s",
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=error.original_error,
                )


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_expected(e))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=f"Something went wrong on our side (request id {request_id.get()}).",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id.get()},
        )


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    rule = limits_rule(Limits.of(settings))
    documents = DocumentCache()
    extensions: list[Any] = [
        lambda: DocumentLimits(rule, max_tokens=settings.max_tokens),
        LogContext,
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    # After every extension that sets the parse options or the validation rules.
    extensions.append(lambda: CachedDocuments(documents))
    if settings.is_production:
        extensions.append(MaskUnexpectedErrors)
    return DoorstepSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=Executor,
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
        scalar_overrides=SCALAR_OVERRIDES,
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"


# For `strawberry export-schema schema:schema`.
schema = build_schema()
