"""Limits on every GraphQL document, checked in one linear pass before any other rule.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk a fragment again at every
spread, so 20 levels of ``fragment Fi on Query { ...Fi+1 ...Fi+1 }`` (1 KB) kept the event
loop busy for seconds. graphql-core's ``OverlappingFieldsCanBeMergedRule`` compares every
pair of fields that land under one response name, so 550 repeated ``me { id }`` took a
second. Here each fragment is measured once and reused at every spread, and a document
over a limit is refused before graphql-core's rules see it: ``DocumentLimitsRule`` does its
work when validation enters the document, then stops the validation.

The rule is a plain graphql-core ``ValidationRule`` whose verdict depends on the document
alone, so validation can be cached per document (Strawberry's ``ValidationCache``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.validation import ValidationContext, ValidationRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from server.core.settings import Settings

# Pairs of fields that graphql-core's OverlappingFieldsCanBeMergedRule may compare: for
# each place in the result, n fields selected there (fragments expanded) make n(n-1)/2
# pairs. The client contract needs a few dozen; 550 repeated `me { id }` make 150,975.
MAX_REPEATED_PAIRS = 1000


class LimitExceeded(ValidationAbortedError):
    """A document over a limit. Raised from a rule, it also stops graphql-core's validation."""

    def __init__(self, message: str, code: str, nodes: Any = None) -> None:
        super().__init__(message, nodes, extensions={"code": code})


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_cost: int
    max_page_size: int
    max_repeated_pairs: int = MAX_REPEATED_PAIRS

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_cost=settings.max_query_cost,
            max_page_size=settings.max_page_size,
        )


@dataclass(frozen=True)
class Size:
    """What a selection set adds up to, with its fragments expanded.

    ``depth``: fields with a selection set nested inside one another (introspection fields
    do not count, as in Strawberry's limiter). ``aliases``: aliased fields. ``cost``: each
    field costs 1, plus its selection set's cost times its page size (see ``page_size``).
    """

    depth: int = 0
    aliases: int = 0
    cost: int = 0


NOTHING = Size()


def _shown(number: int) -> str:
    return str(number) if number < 10**12 else "over 10^12"


class DocumentMeasure:
    """Measures a document in time linear in its size: each fragment once, in an order where
    the fragments it spreads come first."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.sizes: dict[str, Size] = {}
        self._order: list[str] = []
        self.variable_pages = self._variable_pages()

    def _variable_pages(self) -> dict[str, int]:
        """A variable's page size: its default where every operation gives an integer one
        (the largest), otherwise the largest page there is."""
        pages: dict[str, int] = {}
        for operation in self.operations:
            for definition in operation.variable_definitions or ():
                name = definition.variable.name.value
                default = definition.default_value
                page = (
                    int(default.value)
                    if isinstance(default, IntValueNode)
                    else self.limits.max_page_size
                )
                pages[name] = max(page, pages.get(name, page))
        return pages

    def errors(self) -> list[LimitExceeded]:
        """Every limit the document is over; empty when it is within all of them."""
        problems = self._fragment_problems()
        if problems:
            return problems
        for name in self._order:
            fragment = self.fragments[name]
            self.sizes[name] = self.measure(
                fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value)
            )
        errors: list[LimitExceeded] = []
        aliases = cost = 0
        for operation in self.operations:
            size = self.measure(
                operation.selection_set, self.schema.get_root_type(operation.operation)
            )
            aliases += size.aliases
            cost += size.cost
            if size.depth > self.limits.max_depth:
                name = operation.name.value if operation.name else "anonymous"
                errors.append(
                    LimitExceeded(
                        f"'{name}' exceeds maximum operation depth of {self.limits.max_depth}",
                        "QUERY_TOO_DEEP",
                        operation,
                    )
                )
        if aliases > self.limits.max_aliases:
            errors.append(
                LimitExceeded(
                    f"{aliases} aliases found. Allowed: {self.limits.max_aliases}",
                    "TOO_MANY_ALIASES",
                )
            )
        if cost > self.limits.max_cost:
            errors.append(
                LimitExceeded(
                    f"The document costs {_shown(cost)}, over the limit of "
                    f"{self.limits.max_cost}. Each field costs 1, and a paginated field "
                    "multiplies what it selects by its page size (first).",
                    "QUERY_TOO_COSTLY",
                )
            )
        # Only now is the expansion bounded: it has at most `cost` fields.
        return errors or self._repetition_problems()

    # --- Fragments ----------------------------------------------------------------------

    def _fragment_problems(self) -> list[LimitExceeded]:
        """Unused and cyclic fragments make a document invalid anyway. Refusing them here,
        in graphql-core's words, leaves every fragment reachable and expandable."""
        used: set[str] = set()
        todo = [s for op in self.operations for s in _spreads(op.selection_set)]
        while todo:
            name = todo.pop()
            if name in self.fragments and name not in used:
                used.add(name)
                todo.extend(_spreads(self.fragments[name].selection_set))
        problems = [
            LimitExceeded(f"Fragment '{name}' is never used.", "GRAPHQL_VALIDATION_FAILED", node)
            for name, node in self.fragments.items()
            if name not in used
        ]
        try:
            self._order = self._fragment_order()
        except _Cycle as cycle:
            problems.append(
                LimitExceeded(
                    f"Cannot spread fragment '{cycle.name}' within itself.",
                    "GRAPHQL_VALIDATION_FAILED",
                    self.fragments[cycle.name],
                )
            )
        return problems

    def _fragment_order(self) -> list[str]:
        """Fragments, each after every fragment it spreads (an iterative depth-first walk)."""
        order: list[str] = []
        done: set[str] = set()
        spreads = {name: _spreads(f.selection_set) for name, f in self.fragments.items()}
        for root in self.fragments:
            if root in done:
                continue
            path: list[tuple[str, Iterator[str]]] = [(root, iter(spreads[root]))]
            on_path = {root}
            while path:
                name, pending = path[-1]
                for spread in pending:
                    if spread in on_path:
                        raise _Cycle(spread)
                    if spread in self.fragments and spread not in done:
                        path.append((spread, iter(spreads[spread])))
                        on_path.add(spread)
                        break
                else:
                    path.pop()
                    on_path.discard(name)
                    done.add(name)
                    order.append(name)
        return order

    # --- Depth, aliases and cost --------------------------------------------------------

    def measure(self, selection_set: SelectionSetNode, parent: Any) -> Size:
        """The size of a selection set on type ``parent`` (None where the type is unknown);
        a spread adds its fragment's size, measured before."""
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                definition = _field(parent, name)
                inner = NOTHING
                if selection.selection_set:
                    child = get_named_type(definition.type) if definition else None
                    inner = self.measure(selection.selection_set, child)
                    if not name.startswith("__"):
                        depth = max(depth, 1 + inner.depth)
                aliases += inner.aliases + (1 if selection.alias else 0)
                cost += 1 + self.page_size(selection, definition) * inner.cost
            elif isinstance(selection, FragmentSpreadNode):
                size = self.sizes.get(selection.name.value, NOTHING)
                depth = max(depth, size.depth)
                aliases += size.aliases
                cost += size.cost
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.measure(
                    selection.selection_set,
                    self.schema.get_type(condition.name.value) if condition else parent,
                )
                depth = max(depth, inner.depth)
                aliases += inner.aliases
                cost += inner.cost
        return Size(depth, aliases, cost)

    def page_size(self, node: FieldNode, definition: GraphQLField | None) -> int:
        """How many times a field's selection counts: 1, or for a paginated field (one with
        a ``first`` argument) its page size, between 1 and the largest page.

        The page size is ``first``'s literal value; for a variable, the variable's default
        (or the largest page when it has none), since the cost must not depend on the
        variables' values: validation results can then be cached per document. Without
        ``first``, the argument's default in the schema.
        """
        if definition is None or "first" not in definition.args:
            return 1
        largest = self.limits.max_page_size
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        if isinstance(given, IntValueNode):
            page = int(given.value)
        elif isinstance(given, VariableNode):
            page = self.variable_pages.get(given.name.value, largest)
        elif given is None:
            default = definition.args["first"].default_value
            page = default if isinstance(default, int) else largest
        else:
            page = largest
        return min(max(page, 1), largest)

    # --- Repeated fields ----------------------------------------------------------------

    def _repetition_problems(self) -> list[LimitExceeded]:
        """Count, for each place in each operation's result, the fields selected there with
        fragments expanded, and the pairs of them graphql-core would compare."""
        pairs = 0
        worst: tuple[int, tuple[str, ...]] = (0, ())
        for operation in self.operations:
            top: dict[str, _Place] = {}
            stack: list[tuple[SelectionSetNode, dict[str, _Place], tuple[str, ...]]] = [
                (operation.selection_set, top, ())
            ]
            while stack:
                selection_set, places, path = stack.pop()
                for selection in selection_set.selections:
                    if isinstance(selection, FieldNode):
                        key = (selection.alias or selection.name).value
                        place = places.get(key)
                        if place is None:
                            place = places[key] = _Place()
                        pairs += place.count
                        place.count += 1
                        if place.count > worst[0]:
                            worst = (place.count, (*path, key))
                        if selection.selection_set:
                            stack.append((selection.selection_set, place.inner, (*path, key)))
                    elif isinstance(selection, FragmentSpreadNode):
                        fragment = self.fragments.get(selection.name.value)
                        if fragment is not None:
                            stack.append((fragment.selection_set, places, path))
                    elif isinstance(selection, InlineFragmentNode):
                        stack.append((selection.selection_set, places, path))
        if pairs <= self.limits.max_repeated_pairs:
            return []
        count, path = worst
        return [
            LimitExceeded(
                f"The document repeats fields too often: '{'.'.join(path)}' is selected "
                f"{count} times. With fragments expanded, merging repeated fields takes "
                f"{pairs} comparisons, over the limit of {self.limits.max_repeated_pairs}.",
                "TOO_MANY_REPEATED_FIELDS",
            )
        ]


class _Place:
    __slots__ = ("count", "inner")

    def __init__(self) -> None:
        self.count = 0
        self.inner: dict[str, _Place] = {}


class _Cycle(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _field(parent: Any, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return parent.fields.get(name)
    return None


def _spreads(selection_set: SelectionSetNode) -> list[str]:
    """The fragments spread anywhere in a selection set (without entering them)."""
    names: list[str] = []
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif selection.selection_set:  # type: ignore[attr-defined]
                stack.append(selection.selection_set)  # type: ignore[attr-defined]
    return names


def limits_rule(limits: Limits) -> type[ValidationRule]:
    """A validation rule enforcing ``limits``. Make it once per schema: a cache of
    validation results is keyed by the rule classes."""

    class DocumentLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            context = self.context
            assert isinstance(context, ValidationContext)
            errors = DocumentMeasure(context.schema, node, limits).errors()
            if errors:
                for error in errors[:-1]:
                    self.report_error(error)
                # Raising stops the validation: graphql-core's rules never see the document.
                raise errors[-1]

    return DocumentLimitsRule


class DocumentLimits(SchemaExtension):
    """Parse with a token limit, then check ``rule`` first, before graphql-core's rules."""

    def __init__(self, rule: type[ValidationRule], max_tokens: int) -> None:
        self.rule = rule
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = (self.rule, *context.validation_rules)
        yield


__all__ = ["MAX_REPEATED_PAIRS", "DocumentLimits", "LimitExceeded", "Limits", "limits_rule"]
