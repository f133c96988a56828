"""The client contract's operations, each as a document with the fragments it uses."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

CONTRACT = Path(__file__).parent / "contract"
OPERATION_FILES = ("organiser.graphql", "trainer.graphql", "resident.graphql", "admin.graphql")


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def _spreads(node: OperationDefinitionNode | FragmentDefinitionNode) -> set[str]:
    visitor = _Spreads()
    visit(node, visitor)
    return visitor.names


@cache
def operations() -> dict[str, str]:
    """Operation name -> a self-contained document (operation + fragments it needs)."""
    docs: list[DocumentNode] = [parse((CONTRACT / f).read_text()) for f in OPERATION_FILES]
    fragments = {
        d.name.value: d
        for doc in docs
        for d in doc.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    result: dict[str, str] = {}
    for doc in docs:
        for op in doc.definitions:
            if not isinstance(op, OperationDefinitionNode) or op.name is None:
                continue
            needed: list[str] = []
            todo = list(_spreads(op))
            while todo:
                name = todo.pop()
                if name not in needed:
                    needed.append(name)
                    todo.extend(_spreads(fragments[name]))
            parts = [print_ast(op)] + [print_ast(fragments[n]) for n in sorted(needed)]
            result[op.name.value] = "\n\n".join(parts)
    return result


def op(name: str) -> str:
    return operations()[name]
