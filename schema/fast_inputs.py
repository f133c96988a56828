"""Input types that build themselves from a GraphQL input value without Strawberry's
generic conversion, for inputs that arrive by the hundred (a sync batch).

Strawberry converts an input value field by field, resolving each field's type and name
again for every value: for SyncConversations' 500 conversations (31,500 values) that took
more time than everything else the request does. ``fast_input`` works the same out once
per class and installs it as the type's ``from_input`` hook (a documented one, see
``StrawberryObjectDefinition.from_input``): the same objects, built the same way; a kind of
type it does not know (enums, ``Maybe``, lazy types, IDs of Relay) still goes through
Strawberry's own conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)

Convert = Callable[[Any, InputContext], Any]
T = TypeVar("T")
_ABSENT = object()


def fast_input(cls: type[T]) -> type[T]:
    """Install the fast ``from_input`` on ``cls`` (and the input types nested in it)."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    # Fields without a default are None when absent, as Strawberry builds them (graphql-core
    # has checked the required ones are there).
    required = [
        f.python_name
        for f in definition.fields
        if f.default_value is MISSING and f.default_factory is MISSING
    ]
    plan: list[tuple[str, str, Convert]] = []

    def build(target: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not plan:
            plan.extend(_plan(definition, context))
        kwargs = dict.fromkeys(required)
        for graphql_name, python_name, convert in plan:
            given = value.get(graphql_name, _ABSENT)
            if given is not _ABSENT:
                kwargs[python_name] = convert(given, context)
        return target(**kwargs)

    definition.from_input = build
    return cls


def _plan(definition: Any, context: InputContext) -> list[tuple[str, str, Convert]]:
    return [
        (
            context.config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), context),
        )
        for field in definition.fields
    ]


def _converter(type_: StrawberryType | type, context: InputContext) -> Convert:
    if isinstance(type_, StrawberryMaybe):
        return _strawberry(type_)
    if isinstance(type_, StrawberryOptional):
        inner = _converter(type_.of_type, context)
        return lambda value, ctx: None if value is None else inner(value, ctx)
    if isinstance(type_, StrawberryList):
        if _leaf(type_.of_type, context):
            return lambda value, ctx: None if value is None else list(value)
        item = _converter(type_.of_type, context)
        return lambda value, ctx: None if value is None else [item(v, ctx) for v in value]
    if _leaf(type_, context):
        return lambda value, ctx: value
    if has_object_definition(type_) and type_.__strawberry_definition__.is_input:
        nested = type_.__strawberry_definition__
        if nested.from_input is None:
            fast_input(type_)
        build = nested.from_input
        assert build is not None
        return lambda value, ctx: None if value is None else build(type_, value, ctx)
    return _strawberry(type_)


def _leaf(type_: StrawberryType | type, context: InputContext) -> bool:
    if isinstance(type_, StrawberryOptional):
        return _leaf(type_.of_type, context)
    return type_ is not GlobalID and is_scalar(type_, context.scalar_registry)


def _strawberry(type_: StrawberryType | type) -> Convert:
    return lambda value, ctx: ctx.convert(value, type_)
