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
    "api": 5,
    "gateway": 6,
    "entry": 7,  # helpers.local itself, server, control, __main__
}
ENTRY_POINTS = {"helpers.local", "helpers.local.server", "helpers.local.control", "helpers.local.__main__"}

# Imports that go against the layers today and are being removed; empty this as they go. The
# test fails for any upward import not listed here, and for a listed one that no longer exists.
KNOWN_UPWARD_IMPORTS = {
    ("helpers.local.jobs.tuning", "helpers.local.api.training"),
    ("helpers.local.containers.model_data", "helpers.local.jobs.training"),
}
# Modules outside every layer package today; each needs a home in one.
KNOWN_UNPLACED = {"helpers.local.images_check"}
# Function-level imports that close cycles today; empty this as they go, like the list above.
# api.load_all imports the handler modules, which import the registry (``operation``) from api;
# container.run_serving imports serving, which imports AlgorithmError from container; strategies
# imports the Bayesian search (kept lazy for optuna), which subclasses SearchStrategy.
KNOWN_CYCLE_EDGES = {
    *(("helpers.local.api", f"helpers.local.api.{handlers}")
      for handlers in ("hosting", "models", "tags", "training", "transform", "tuning")),
    ("helpers.local.images.toolkit.container", "helpers.local.images.toolkit.serving"),
    ("helpers.local.tuning.strategies", "helpers.local.tuning.bayesian"),
}  # fmt: skip

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


def test_every_module_belongs_to_a_layer():
    unplaced = {module for module in MODULES if layer_of(module) is None}
    assert unplaced - KNOWN_UNPLACED == set(), (
        f"{sorted(unplaced - KNOWN_UNPLACED)} belong to no layer: move them into a layer package"
    )
    assert unplaced >= KNOWN_UNPLACED, f"remove {sorted(KNOWN_UNPLACED - unplaced)} from KNOWN_UNPLACED"


def upward_imports() -> list[tuple[str, str, str]]:
    """(importer, imported, message) for every import of a layer above the importer's own."""
    found = []
    for module in MODULES:
        own = layer_of(module)
        for target in sorted(imports_of(module)):
            theirs = layer_of(target)
            if own is None or theirs is None:
                continue
            if own == "images" and theirs != "images":
                found.append(
                    (module, target, f"{module} imports {target}: images run in the container process "
                     "and may import only helpers.local.images.*")
                )  # fmt: skip
            elif LAYERS[theirs] > LAYERS[own]:
                found.append(
                    (module, target, f"{module} imports {target}, a layer above it (layer {theirs} > {own})")
                )
    return found


def test_no_module_imports_a_layer_above_its_own():
    found = upward_imports()
    unexpected = [
        message for module, target, message in found if (module, target) not in KNOWN_UPWARD_IMPORTS
    ]
    assert unexpected == [], "\n".join(unexpected)
    gone = KNOWN_UPWARD_IMPORTS - {(module, target) for module, target, _ in found}
    assert not gone, f"no longer upward imports, remove them from KNOWN_UPWARD_IMPORTS: {sorted(gone)}"


def import_cycles(skip: set[tuple[str, str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected group of modules."""
    graph = {module: sorted(t for t in imports_of(module) if (module, t) not in skip) for module in MODULES}
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
    cycles = import_cycles(KNOWN_CYCLE_EDGES)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)
    edges = {(module, target) for module in MODULES for target in imports_of(module)}
    gone = KNOWN_CYCLE_EDGES - edges
    assert not gone, f"these imports are gone, remove them from KNOWN_CYCLE_EDGES: {sorted(gone)}"


def test_the_checks_catch_what_they_are_for():
    # The allow-lists only hide what they name: without them the known problems are reported.
    messages = [
        message for module, target, message in upward_imports() if (module, target) in KNOWN_UPWARD_IMPORTS
    ]
    assert (
        "helpers.local.jobs.tuning imports helpers.local.api.training, a layer above it (layer api > jobs)"
        in messages
    )
    assert all(len(cycle) > 2 and cycle[0] == cycle[-1] for cycle in import_cycles(set()))
    assert import_cycles(set()) != []


@pytest.mark.parametrize(
    "module",
    [
        "helpers.local.core.config",
        pytest.param(
            "helpers.local.control",
            marks=pytest.mark.xfail(
                strict=True,
                reason="control imports HEALTH_PATH from gateway.app, which loads moto, flask, a2wsgi "
                "and botocore's service models",
            ),
        ),
    ],
)
def test_client_side_modules_start_without_the_server_libraries(module):
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = sorted(name for name in HEAVY_MODULES if name in loaded)
    assert heavy == [], f"importing {module} loads {heavy}"
