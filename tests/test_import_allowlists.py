"""What the inner layers may import, as allow-lists (import-linter's contracts forbid; these
say "only"): the policy, the domain and the integrity core import nothing outside their
list, whether a driver, a web framework, logging, the environment or another layer."""

from __future__ import annotations

import grimp
import pytest

PURE_STDLIB = {
    "__future__",
    "abc",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "functools",
    "itertools",
    "math",
    "re",
    "typing",
    "uuid",
    "zoneinfo",
}
LEDGER_FACE = {"ledger.values", "ledger.errors", "ledger.identity"}
INTEGRITY_CORE = {
    "ledger.integrity.merkle",
    "ledger.integrity.checkpoint",
    "ledger.integrity.batch",
    "ledger.integrity.scan",
}
ALLOWED = {
    # the policy: the domain, the public face, commands (its table is keyed by command class)
    # and the name directory's kinds (``ledger.names``, who may name what: ADR 0015)
    "ledger.policy": PURE_STDLIB
    | LEDGER_FACE
    | {"ledger.commands", "ledger.domain", "ledger.names", "babel"},
    # the domain: the library's aggregate base, and values (eventsourcing is one external
    # package to the graph: that it uses only eventsourcing.domain is read in review)
    "ledger.domain": PURE_STDLIB | LEDGER_FACE | {"eventsourcing"},
}
# the integrity core also reads keys from files and hashes: os, pathlib, hashlib...
CORE_ALLOWED = (
    PURE_STDLIB
    | INTEGRITY_CORE
    | {
        "base64",
        "binascii",
        "contextlib",
        "cryptography",
        "hashlib",
        "json",
        "os",
        "pathlib",
        "secrets",
        "struct",
    }
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ledger", include_external_packages=True)


def outside(graph: grimp.ImportGraph, modules: set[str], allowed: set[str]) -> list[str]:
    found: set[str] = set()
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in modules or any(
                imported == a or imported.startswith(a + ".") for a in allowed
            ):
                continue
            found.add(f"{module} -> {imported}")
    return sorted(found)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_an_inner_layer_imports_only_what_its_allow_list_names(
    graph: grimp.ImportGraph, package: str
) -> None:
    """Every module of the policy and of the domain imports only from its allow-list."""
    modules = graph.find_descendants(package) | {package}
    assert outside(graph, modules, ALLOWED[package]) == []


def test_the_integrity_core_imports_no_driver_web_logging_or_other_layer(
    graph: grimp.ImportGraph,
) -> None:
    """merkle, checkpoint, batch and scan import only pure code and cryptography."""
    assert outside(graph, INTEGRITY_CORE, CORE_ALLOWED) == []


def test_the_allow_list_check_catches_a_forbidden_import(graph: grimp.ImportGraph) -> None:
    """The check itself can fail: the application layer, which talks to the store, is
    outside the policy's list."""
    modules = graph.find_descendants("ledger.application")
    assert outside(graph, modules, ALLOWED["ledger.policy"]) != []
