"""helpers.local is built in one-way layers: no module imports a layer above its own, none takes
part in an import cycle, and the client side starts without the server's heavy libraries.

Every module is read with ``ast``: imports at module level and inside functions both count (a
function's import runs the first time it is called); imports under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "helpers" / "local"

# Lowest first. A module may import its own layer and the layers below it.
LAYERS = {
    "core": 0,
    "store": 1,
    "images": 1,  # runs inside container processes: may import only helpers.local.images.*
    "aws": 2,
    "containers": 3,
    "tuning": 3,
    "jobs": 4,
    "hosting": 4,
    "notebooks": 4,
    "api": 5,
    "gateway": 6,
    "entry": 7,  # helpers.local itself, server, control, __main__
}
ENTRY_POINTS = {"helpers.local", "helpers.local.server", "helpers.local.control", "helpers.local.__main__"}

# What the client side (``helpers.connect``, the CLI's start/stop/status) must start without.
HEAVY_MODULES = ("moto", "flask", "a2wsgi", "numpy", "botocore.loaders", "botocore.session")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_module(name: str) -> bool:
    return name in MODULES


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, leaving out the bodies of ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    for item in ast.iter_child_nodes(node):
        if isinstance(item, (ast.Import, ast.ImportFrom)):
            found.append(item)
        elif isinstance(item, ast.If) and _type_checking(item.test):
            for other in item.orelse:
                found.extend(_import_nodes(ast.Module(body=[other], type_ignores=[])))
        else:
            found.extend(_import_nodes(item))
    return found


@cache
def imports_of(module: str) -> frozenset[str]:
    """The helpers.local modules ``module`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    imported: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = f"{anchor}.{base}" if base else anchor
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            imported.add(submodule if _is_module(submodule) else base)
    return frozenset(name for name in imported if _is_module(name) and name != module)


def layer_of(module: str) -> str | None:
    if module in ENTRY_POINTS:
        return "entry"
    package = module.split(".")[2]
    return package if package in LAYERS else None


def import_graph() -> dict[str, set[str]]:
    return {module: set(imports_of(module)) for module in MODULES}


def test_every_module_belongs_to_a_layer():
    unplaced = sorted(module for module in MODULES if layer_of(module) is None)
    assert unplaced == [], f"{unplaced} belong to no layer: move them into a layer package"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """A message for every import of a layer above the importer's own."""
    found = []
    for module, targets in graph.items():
        own = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if own is None or theirs is None:
                continue
            if own == "images" and theirs != "images":
                found.append(
                    f"{module} imports {target}: images run in the container process "
                    "and may import only helpers.local.images.*"
                )
            elif LAYERS[theirs] > LAYERS[own]:
                found.append(f"{module} imports {target}, a layer above it (layer {theirs} > {own})")
    return found


def test_no_module_imports_a_layer_above_its_own():
    found = upward_imports(import_graph())
    assert found == [], "\n".join(found)


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected group of modules."""
    graph = {module: sorted(targets) for module, targets in imports.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in graph:
        if module not in index:
            visit(module)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, list[str]]) -> list[str]:
    # Walk from the group's first module back to it, staying inside the group (breadth first,
    # so the reported cycle is a shortest one).
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in graph[module]:
            if target == start:
                return [*paths[module], start]
            if target in group and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


def test_no_import_cycles():
    cycles = import_cycles(import_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_checks_catch_what_they_are_for():
    # The same checks on the real graph with one wrong import added each.
    upward = import_graph()
    upward["helpers.local.jobs.tuning"].add("helpers.local.api.training")
    assert upward_imports(upward) == [
        "helpers.local.jobs.tuning imports helpers.local.api.training, a layer above it (layer api > jobs)"
    ]
    outward = import_graph()
    outward["helpers.local.images.toolkit.serving"].add("helpers.local.core.errors")
    assert "images run in the container process" in upward_imports(outward)[0]
    cyclic = import_graph()
    cyclic["helpers.local.core.credentials"].add("helpers.local.core.config")  # config imports credentials
    assert import_cycles(cyclic) == [
        ["helpers.local.core.config", "helpers.local.core.credentials", "helpers.local.core.config"]
    ]


@pytest.mark.parametrize("module", ["helpers.local.core.config", "helpers.local.control"])
def test_client_side_modules_start_without_the_server_libraries(module):
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = sorted(name for name in HEAVY_MODULES if name in loaded)
    assert heavy == [], f"importing {module} loads {heavy}"
