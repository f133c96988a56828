"""The client contract (tests/contract) against the server's schema.

Every operation must validate, except those listed in NOT_YET; a listed one must still
fail, so the list stays true. Every scalar, enum and input type that the contract
declares must exist with the same shape, except those listed in NOT_YET_TYPES.
Whoever implements an operation or a type removes it from the list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from graphql import (
    EnumTypeDefinitionNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLScalarType,
    InputObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    TypeDefinitionNode,
    parse,
    print_ast,
    validate,
)

from schema import schema
from tests.conftest import unavailable
from tests.contract_ops import CONTRACT, operations

SHARED_CONTRACT = Path(__file__).resolve().parent.parent.parent / "shared" / "contract"

# Operations of the contract that the schema does not have yet.
NOT_YET = {
    # organiser.graphql
    # trainer.graphql
    # resident.graphql
    # admin.graphql
    "PublishCampaignUpdate",
}

# Types of inputs.graphql that the schema does not have yet.
NOT_YET_TYPES = {
    "CampaignUpdateInput",
}

# Enums that clients read tolerantly: only these may have values the contract lacks.
OPEN_ENUMS = {"Role", "NotificationKind", "UserErrorCode"}

OPERATIONS = operations()


def _errors(name: str) -> list[str]:
    return [e.message for e in validate(schema._schema, parse(OPERATIONS[name]))]


def test_the_contract_has_every_operation_it_announces() -> None:
    # README.md: "59 operations in all".
    assert len(OPERATIONS) == 59


def test_not_yet_names_only_operations_of_the_contract() -> None:
    assert sorted(NOT_YET - OPERATIONS.keys()) == []


@pytest.mark.parametrize("name", sorted(OPERATIONS.keys() - NOT_YET))
def test_operation_validates(name: str) -> None:
    assert _errors(name) == []


@pytest.mark.parametrize("name", sorted(NOT_YET))
def test_operation_not_yet_implemented_still_fails(name: str) -> None:
    assert _errors(name), f"{name} validates now: remove it from NOT_YET in {__file__}"


def _contract_types() -> dict[str, TypeDefinitionNode]:
    doc = parse((CONTRACT / "inputs.graphql").read_text())
    return {d.name.value: d for d in doc.definitions if isinstance(d, TypeDefinitionNode)}


CONTRACT_TYPES = _contract_types()


def _shape_problems(node: TypeDefinitionNode) -> list[str]:
    """How the schema's type differs from the contract's declaration (empty: it matches)."""
    name = node.name.value
    actual = schema._schema.type_map[name]
    if isinstance(node, ScalarTypeDefinitionNode):
        return [] if isinstance(actual, GraphQLScalarType) else [f"{name} is not a scalar"]
    if isinstance(node, EnumTypeDefinitionNode):
        if not isinstance(actual, GraphQLEnumType):
            return [f"{name} is not an enum"]
        wanted = {v.name.value for v in node.values or ()}
        problems = [f"{name} lacks the value {v}" for v in sorted(wanted - actual.values.keys())]
        if name not in OPEN_ENUMS:
            problems += [
                f"{name} has {v}, which the contract's clients do not know"
                for v in sorted(actual.values.keys() - wanted)
            ]
        return problems
    assert isinstance(node, InputObjectTypeDefinitionNode), f"unexpected declaration {name}"
    if not isinstance(actual, GraphQLInputObjectType):
        return [f"{name} is not an input type"]
    wanted_fields = {f.name.value: print_ast(f.type) for f in node.fields or ()}
    problems = []
    for field, type_ in wanted_fields.items():
        if field not in actual.fields:
            problems.append(f"{name}.{field} is missing")
        elif str(actual.fields[field].type) != type_:
            problems.append(f"{name}.{field} is {actual.fields[field].type}, not {type_}")
    for field in actual.fields.keys() - wanted_fields.keys():
        if isinstance(actual.fields[field].type, GraphQLNonNull):
            problems.append(f"{name}.{field} is an added field that clients must send")
    return problems


def test_not_yet_types_names_only_types_of_the_contract() -> None:
    assert sorted(NOT_YET_TYPES - CONTRACT_TYPES.keys()) == []


@pytest.mark.parametrize("name", sorted(CONTRACT_TYPES))
def test_contract_type_matches_the_schema(name: str) -> None:
    node = CONTRACT_TYPES[name]
    if name not in schema._schema.type_map:
        assert name in NOT_YET_TYPES, f"the schema lacks {name}, declared in inputs.graphql"
        return
    problems = _shape_problems(node)
    assert problems == []
    assert name not in NOT_YET_TYPES, f"{name} matches now: remove it from NOT_YET_TYPES"


def test_shape_check_sees_a_mismatch() -> None:
    """The comparison itself notices a changed nullability, a missing field or value."""
    changed = parse(
        "input CreateAreaInput { name: String kind: String parentId: ID "
        "postcodePrefixes: [String!] colour: String }\n"
        "enum Platform { IOS ANDROID WEB TOASTER }\n"
        "enum PushProvider { EXPO FCM APNS }"
    ).definitions
    problems = [p for node in changed for p in _shape_problems(node)]  # type: ignore[arg-type]
    assert problems == [
        "CreateAreaInput.name is String!, not String",
        "CreateAreaInput.colour is missing",
        "Platform lacks the value TOASTER",
        "PushProvider has WEBPUSH, which the contract's clients do not know",
    ]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def compare_with_shared(shared: Path) -> None:
    if not shared.is_dir():
        unavailable(f"{shared} is not here to compare tests/contract with")
    assert _files(CONTRACT) == _files(shared)


def test_contract_copy_is_unedited() -> None:
    compare_with_shared(SHARED_CONTRACT)


def test_a_missing_shared_copy_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing is not here"):
        compare_with_shared(tmp_path / "missing")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        compare_with_shared(tmp_path / "missing")


CHECK_CONTRACT = Path(__file__).resolve().parent.parent / ".ci" / "check-contract"


def check_contract(shared: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    """.ci/check-contract, as CI runs it (CI=true) or as a developer might."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SHARED_CONTRACT"] = str(shared)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        ["bash", str(CHECK_CONTRACT)], env=env, capture_output=True, text=True, check=False
    )


def test_ci_check_fails_without_the_shared_copy(tmp_path: Path) -> None:
    missing = check_contract(tmp_path / "missing", ci=True)
    assert missing.returncode == 1
    assert "missing is missing: CI compares tests/contract with the shared copy" in missing.stderr
    local = check_contract(tmp_path / "missing", ci=False)
    assert local.returncode == 0
    assert "not compared (CI fails on this)" in local.stdout


def test_ci_check_compares_the_copy(tmp_path: Path) -> None:
    shared = tmp_path / "contract"
    shutil.copytree(CONTRACT, shared)
    same = check_contract(shared, ci=True)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "tests/contract matches" in same.stdout
    edited = next(p for p in sorted(shared.rglob("*.graphql")))
    edited.write_text(edited.read_text() + "\n# edited\n")
    differs = check_contract(shared, ci=True)
    assert differs.returncode == 1
    assert "tests/contract differs from" in differs.stderr
