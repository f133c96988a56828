"""graphql-core's executor with a short way through plain leaf fields.

A payload of hundreds of objects is mostly leaf fields without a resolver (``id``,
``version``, ``name``...): a SyncConversations result holds 18,500 fields. For each,
graphql-core builds a resolve info, checks for arguments, asks twice whether the value is
awaitable and recurses through ``complete_value``: more time than anything else that
request did. A field Strawberry resolves as a plain attribute (its basic resolver, which
takes no info) whose value is a ready scalar or enum takes the short way here, in
``execute_fields``' loop: the value read (one attrgetter call) and coerced for output as
``complete_leaf_value`` would, with no ``Path``, resolve info or ``complete_value``.
Anything else (a resolver, arguments, middleware, an awaitable, an exception, a null for
a non-null field, a value the scalar refuses) goes through graphql-core's own
``execute_field``, which then gives the same errors as ever.

Installed with Strawberry's documented ``execution_context_class`` (schema/__init__.py).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import GraphQLField, GraphQLLeafType, GraphQLObjectType, is_leaf_type, is_non_null_type
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# Strawberry's resolver of a field with no resolver, permission class, extension or
# exception handler (schema_converter): it reads the attribute and ignores its info.
_BASIC = "_get_basic_result"

Leaf = tuple[Callable[[Any], Any], GraphQLLeafType, bool] | None
_SLOW = object()  # a leaf value that needs graphql-core's way (its errors)


def _leaf_value(
    leaf: tuple[Callable[[Any], Any], GraphQLLeafType, bool],
    source: Any,
    is_awaitable: Callable[[Any], bool],
) -> Any:
    """The leaf's output value, or ``_SLOW``."""
    read, leaf_type, non_null = leaf
    try:
        value = read(source)
        if value is None:
            return _SLOW if non_null else None
        if is_awaitable(value) or isinstance(value, Exception):
            return _SLOW
        coerced = leaf_type.coerce_output_value(value)
    except Exception:  # graphql-core's way reports it
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced


def _reader(field_def: GraphQLField, resolve: Any) -> Callable[[Any], Any]:
    """What the basic resolver does (``StrawberryField.get_result`` without a resolver:
    its ``default_resolver`` on its ``python_name``), as one C call when that is getattr."""
    field = field_def.extensions.get("strawberry-definition")
    if isinstance(field, StrawberryField) and field.default_resolver is getattr:
        return attrgetter(field.python_name)
    return lambda source: resolve(source, None)


class Executor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        self._plain = manager is None or not manager.middlewares
        # One request's plain leaves, by parent type and field name.
        self._leaves: dict[tuple[int, str], Leaf] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields`` (3.3), with the plain leaves answered in the
        loop: no ``Path``, ``execute_field`` call or awaitable check for them."""
        if not self._plain:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        leaves = self._leaves
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                key = (id(parent_type), field_details_list[0].node.name.value)
                leaf = leaves[key] if key in leaves else self._leaf(key, parent_type)
                if leaf is not None:
                    value = _leaf_value(leaf, source_value, is_awaitable)
                    if value is not _SLOW:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                # As graphql-core: settle the other fields' awaitables, which may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _leaf(self, key: tuple[int, str], parent_type: GraphQLObjectType) -> Leaf:
        field_def = self.schema.get_field(parent_type, key[1])
        leaf: Leaf = None
        if field_def is not None and not field_def.args:
            resolve = field_def.resolve
            type_: Any = field_def.type
            non_null = is_non_null_type(type_)
            inner = type_.of_type if non_null else type_
            if getattr(resolve, "__name__", None) == _BASIC and is_leaf_type(inner):
                leaf = (_reader(field_def, resolve), inner, non_null)
        self._leaves[key] = leaf
        return leaf
