"""Each GraphQL document is parsed and validated once, then answered from a cache.

The clients send the same few dozen documents over and over (the contract's operations,
with their variables apart), and parsing one and running every validation rule over it
cost more than executing most of them. ``DocumentCache`` keeps, by query text, the parsed
document and the validation errors it got: a document refused by validation or by the
limits (``schema.limits``, a validation rule like the others) is refused again from the
cache, with the same errors, without being walked again.

What is cached depends on the text alone: the parse options and the validation rules are
the schema's own (the rules are part of the key all the same), and validation never sees
the variables or the operation name, which are applied to the cached document per request.
A document that fails to parse is not cached (the token limit bounds that work).

The cache is bounded so that a stream of distinct documents cannot grow memory: at most
``max_entries`` documents of at most ``max_document_chars`` characters each and
``max_chars`` in all (a parsed document takes about 50 bytes a character), least recently
used first out. Longer documents are parsed and validated every time, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import DocumentNode, GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

Rules = tuple[type[ASTValidationRule], ...]

MAX_ENTRIES = 256
MAX_CHARS = 256_000
MAX_DOCUMENT_CHARS = 16_000


@dataclass
class Entry:
    document: DocumentNode
    # The validation errors, by the rules that found them (one set of rules in practice).
    verdicts: dict[Rules, list[GraphQLError]] = field(default_factory=dict)


class DocumentCache:
    """Parsed documents and their validation errors by query text (LRU, bounded)."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_chars: int = MAX_CHARS,
        max_document_chars: int = MAX_DOCUMENT_CHARS,
    ) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self.max_document_chars = min(max_document_chars, max_chars)
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._chars = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def chars(self) -> int:
        return self._chars

    def get(self, query: str) -> Entry | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def put(self, query: str, document: DocumentNode) -> Entry | None:
        """Keep ``document`` as ``query``'s; None when it is too long to keep."""
        if len(query) > self.max_document_chars:
            return None
        entry = self._entries.get(query)
        if entry is not None:
            return entry
        entry = self._entries[query] = Entry(document)
        self._chars += len(query)
        while len(self._entries) > self.max_entries or self._chars > self.max_chars:
            dropped, _ = self._entries.popitem(last=False)
            self._chars -= len(dropped)
        return entry


class CachedDocuments(SchemaExtension):
    """Parse and validate through ``cache``; must come after every extension that changes
    the parse options or the validation rules in ``on_operation``."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.entry: Entry | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            self.entry = self.cache.get(query)
            if self.entry is not None:
                context.graphql_document = self.entry.document
        yield
        # Parsed by Strawberry now (a failure raised, and left nothing to keep).
        if self.entry is None and query is not None and context.graphql_document is not None:
            self.entry = self.cache.put(query, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self.entry
        rules = context.validation_rules
        if entry is not None and rules and context.pre_execution_errors is None:
            errors = entry.verdicts.get(rules)
            if errors is None:
                assert context.graphql_document is entry.document
                errors = entry.verdicts[rules] = validate_document(
                    context.schema._schema, entry.document, rules
                )
            # A copy: what a request does to its list of errors stays its own.
            context.pre_execution_errors = list(errors)
        yield


__all__ = ["MAX_CHARS", "MAX_DOCUMENT_CHARS", "MAX_ENTRIES", "CachedDocuments", "DocumentCache"]
