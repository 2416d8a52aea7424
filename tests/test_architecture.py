"""The house rules of docs/architecture.md, checked on the source: the import graph of
``recovery`` (read statically from the AST) has no cycles, data flows one way, blueprints
only route, and the web never spawns processes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recovery"
BLUEPRINTS = ("admin", "auth", "groups", "health", "overview", "public", "queue", "reconnect")
# What each lower layer may import from recovery (besides itself); see docs/architecture.md.
ALLOWED = {
    "recovery.models": {"recovery.extensions"},
    "recovery.jobs": {"recovery.extensions", "recovery.models", "recovery.cli_group"},
    "recovery.analysis": {"recovery.formatting"},
    "recovery.formatting": set(),
    # ReConnect's domain sits beside cases: it reads cases, never imports the case domain.
    "recovery.campaigns": {
        "recovery.extensions",
        "recovery.models",
        "recovery.jobs",
        "recovery.messaging",
        "recovery.cli_group",
    },
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The recovery modules ``name`` imports (the module itself where a name is no module)."""
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in MODULES and t != name)
    if is_package:  # a package importing its own submodules (blueprint routes) is no cycle
        found = {t for t in found if not t.startswith(name + ".")}
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in GRAPH:
        if name not in index:
            visit(name)
    return found


def test_the_graph_sees_the_imports():
    # The check below is only worth something if the graph is read right.
    assert "recovery.cases.actions" in GRAPH["recovery.queue.routes"]
    assert "recovery.jobs.rows" in GRAPH["recovery.jobs.worker"]
    assert len(MODULES) > 100


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_nothing_above_them(layer):
    wrong = {
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets
        if not (target == layer or target.startswith(layer + "."))
        and not any(target == ok or target.startswith(ok + ".") for ok in ALLOWED[layer])
    }
    assert wrong == set()


def test_a_blueprint_never_imports_another_blueprint():
    wrong = set()
    for name, targets in GRAPH.items():
        own = name.split(".")[1] if name.count(".") else ""
        if own not in BLUEPRINTS:
            continue
        for target in targets:
            other = target.split(".")[1] if target.count(".") else ""
            if other in BLUEPRINTS and other != own:
                wrong.add(f"{name} -> {target}")
    assert wrong == set()


def test_the_web_never_spawns_processes():
    web = [
        p
        for name, p in MODULES.items()
        if name.split(".")[1:2] and name.split(".")[1] in BLUEPRINTS
    ]
    assert web
    for path in web:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (
                node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
            )
        }
        assert not names & {"subprocess", "multiprocessing"}, path
