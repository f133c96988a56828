"""graphql-core's executor with a short way through plain leaf fields.

A payload of hundreds of objects is mostly leaf fields without a resolver (``id``,
``version``, ``name``...): a SyncConversations result holds 18,500 fields. For each,
graphql-core builds a resolve info, checks for arguments, asks twice whether the value is
awaitable and recurses through ``complete_value``: more time than anything else that
request did. A field Strawberry resolves as a plain attribute (its basic resolver, which
takes no info) whose value is a ready scalar or enum takes the short way here: the value
read (one attrgetter call) and coerced for output as ``complete_leaf_value`` would.
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
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# Strawberry's resolver of a field with no resolver, permission class, extension or
# exception handler (schema_converter): it reads the attribute and ignores its info.
_BASIC = "_get_basic_result"

Leaf = tuple[Callable[[Any], Any], GraphQLLeafType, bool] | None


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

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self._plain:
            name = field_details_list[0].node.name.value
            key = (id(parent_type), name)
            leaf = self._leaves[key] if key in self._leaves else self._leaf(key, parent_type)
            if leaf is not None:
                read, leaf_type, non_null = leaf
                try:
                    value = read(source)
                    if value is None:
                        if not non_null:
                            return None
                    elif not self.is_awaitable(value) and not isinstance(value, Exception):
                        coerced = leaf_type.coerce_output_value(value)
                        if coerced is not None and coerced is not Undefined:
                            return coerced
                except Exception:  # noqa: S110 - graphql-core reports it below
                    pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

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
