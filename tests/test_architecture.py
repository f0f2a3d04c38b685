"""The shape of the package: its import graph, read from the source (ast), has no cycle and
no import that goes up a layer (DESIGN.md, "Layers").

Every ``import`` and ``from ... import`` counts, at module level or inside a function,
``if TYPE_CHECKING:`` blocks included: a typing-only import that closes a circle still
makes two modules that cannot be read apart. ``from package import module`` is an edge to
the module and to the package (its ``__init__`` runs first), except for the root package
``duolm``, whose ``__init__`` only re-exports.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import duolm

SRC = Path(duolm.__file__).parent

#: The layers, bottom first. A module may import modules of its own unit (the same
#: top-level module or subpackage) and of units in lower layers, nothing else.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "_checks", "_format", "_files", "datasets"),
    ("core",),
    ("design",),
    ("frequentist",),
    ("bayesian",),  # compares and reads both readings: above the frequentist one
    ("reduction",),
    ("_stream",),
    ("dask",),
    ("state",),
    ("_api",),
    ("sklearn",),
    ("present",),
    ("cli",),
    ("",),  # the package itself: public names only
)

RANK = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The duolm modules that ``name`` imports (the longest known prefix of each target)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # the package is imported too, except the root's __init__ (public names only)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            if base == "duolm":
                names = names[1:]
        else:
            continue
        for target in names:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer() -> None:
    assert {_unit(m) for m in MODULES} <= set(RANK), "a new unit: give it a layer here"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({_unit(module) or 'duolm'}) imports {target} ({_unit(target) or 'duolm'})"
        for module, targets in graph.items()
        for target in targets
        if _unit(target) != _unit(module) and RANK[_unit(target)] > RANK[_unit(module)]
    ]


def test_no_import_cycle() -> None:
    assert _cycle(GRAPH) is None


def test_no_import_goes_up_a_layer() -> None:
    upward = _upward(GRAPH)
    assert not upward, "\n".join(upward)


def test_the_checks_find_a_planted_cycle_and_an_upward_import() -> None:
    planted = {k: set(v) for k, v in GRAPH.items()}
    planted["duolm.core._sqrtstat"].add("duolm.frequentist._fit")
    assert _upward(planted) == [
        "duolm.core._sqrtstat (core) imports duolm.frequentist._fit (frequentist)"
    ]
    cycle = _cycle(planted)
    assert cycle is not None and cycle[0] == cycle[-1]


def test_the_core_imports_nothing_above_it() -> None:
    for module, targets in GRAPH.items():
        if _unit(module) == "core":
            assert {_unit(t) for t in targets} <= {"core", *LAYERS[0]}, module


def test_adapters_build_no_results() -> None:
    """The streaming wing and Dask produce Reductions: they import no reading and call
    nothing that builds a result."""
    builders = {"ols", "bayes", "from_fit", "from_state", "from_posterior", "from_design"}
    for module, path in MODULES.items():
        if _unit(module) not in ("_stream", "dask"):
            continue
        assert not {_unit(t) for t in GRAPH[module]} & {"frequentist", "bayesian"}, module
        calls = {
            node.func.attr
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert not calls & builders, f"{module} calls {sorted(calls & builders)}"


def test_presentation_computes_no_statistics() -> None:
    """Presentation and the CLI reach the core and the design only through results."""
    for module, targets in GRAPH.items():
        if _unit(module) in ("present", "cli"):
            low = {t for t in targets if _unit(t) in ("core", "reduction", "_stream")}
            assert not low, f"{module} imports {sorted(low)}"
            text = MODULES[module].read_text(encoding="utf-8")
            for call in ("np.linalg", "scipy.linalg", "sla.", "lstsq(", ".solve("):
                assert call not in text, f"{module} calls {call}"


def test_no_public_function_shares_its_name_with_a_module() -> None:
    modules = {m.rpartition(".")[2] for m in MODULES} | {_unit(m) for m in MODULES}
    clashes = [
        name
        for name in duolm.__all__
        if inspect.isfunction(getattr(duolm, name)) and name in modules
    ]
    assert not clashes


def test_the_graph_reads_what_it_should() -> None:
    # the reader itself: known edges are found, relative imports resolved
    assert "duolm.core._sqrtstat" in GRAPH["duolm.core"]
    assert "duolm.reduction" in GRAPH["duolm._api._fits"]
    assert "duolm.errors" in GRAPH["duolm._checks"]
