"""The floors of `simulations`: every module imports only modules of its own floor or of the floors below it,
and no imports close a circle (docs/design.md §3).

The rule, from the bottom up (a module's floor is the longest name below that is a prefix of its own):

    simulations.core              keys, checks, row chunks, atomic files, threads, version
    simulations.worlds            log-linear and named-word worlds, tasks, the Instance
    simulations.probes            certified probe solvers (arrays in, fits out)
    simulations.models            tilts, JAX training, LanguageModel records, worst cases
    simulations.features          feature kinds paired with their probe class and bounds
    simulations.experiments.kit   the Experiment contract, claims, rows, stats, plotting
    simulations.experiments       one module (or package) per experiment, and the registry
    simulations.runs              config overlay, results store, runner, sweeps
    simulations                   the command line, demo, classroom, strategies, partition, gallery, lessons

`theory` (the referee) imports nothing of `simulations`. Every import counts: at the top of a module, inside a
function, or under `TYPE_CHECKING` (a type is a dependency too). The graph is read with `ast`, not by importing.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLOORS = (
    "simulations.core",
    "simulations.worlds",
    "simulations.probes",
    "simulations.models",
    "simulations.features",
    "simulations.experiments.kit",
    "simulations.experiments",
    "simulations.runs",
    "simulations",
)


def module_names(package: str) -> dict[str, pathlib.Path]:
    """{dotted module name: file} of every module of `package` (a package is named by its __init__)."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The modules of `known` that the module `name` (file `path`) imports, relative imports resolved.

    `from pkg import x` imports the module pkg.x when there is one, and pkg (its __init__) otherwise.
    """
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known}


def floor(name: str) -> int:
    """Index in FLOORS of the floor the module `name` stands on."""
    return max((i for i, f in enumerate(FLOORS) if name == f or name.startswith(f + ".")), key=lambda i: len(FLOORS[i]))


def import_graph() -> dict[str, set[str]]:
    """{module: modules of simulations it imports}, for every module of simulations."""
    modules = module_names("simulations")
    known = set(modules)
    return {name: imports_of(name, path, known) - {name} for name, path in modules.items()}


def layer_errors(graph: dict[str, set[str]]) -> list[str]:
    """One line per import that runs up a floor, and one per circle of imports."""
    errors = [
        f"{a} ({FLOORS[floor(a)]}) imports {b}, a higher floor ({FLOORS[floor(b)]})"
        for a in sorted(graph)
        for b in sorted(graph[a])
        if floor(b) > floor(a)
    ]
    errors += [f"circle: {' -> '.join([*cycle, cycle[0]])}" for cycle in circles(graph)]
    return errors


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_import_runs_down_or_across_and_none_closes_a_circle():
    graph = import_graph()
    assert len(graph) > 40 and all(floor(m) >= 0 for m in graph)
    assert layer_errors(graph) == []


def test_every_floor_holds_a_module_and_is_used():
    graph = import_graph()
    floors = {FLOORS[floor(m)] for m in graph}
    assert floors == set(FLOORS)
    imported = {FLOORS[floor(b)] for targets in graph.values() for b in targets}
    assert imported >= set(FLOORS) - {"simulations"}  # the top floor is imported by nobody below it


def test_the_check_finds_an_upward_import_and_a_circle():
    graph = {k: set(v) for k, v in import_graph().items()}
    graph["simulations.worlds._task"].add("simulations.models._lm")  # a world reaching up for a language model
    errors = layer_errors(graph)
    assert any("simulations.worlds._task (simulations.worlds) imports simulations.models._lm" in e for e in errors)
    assert any(e.startswith("circle: ") and "simulations.worlds._task" in e for e in errors)  # _lm imports worlds
    graph = {k: set(v) for k, v in import_graph().items()}
    graph["simulations.core._checks"].add("simulations.core._files")
    graph["simulations.core._files"].add("simulations.core._checks")  # a circle within one floor
    assert layer_errors(graph) == ["circle: simulations.core._checks -> simulations.core._files -> "
                                   "simulations.core._checks"]  # fmt: skip


def test_relative_imports_resolve_to_modules_and_packages(tmp_path):
    known = {"simulations.models", "simulations.models._lm", "simulations.worlds", "simulations.core"}
    source = tmp_path / "_x.py"
    source.write_text(
        "from . import _lm\nfrom ..worlds import Instance\nimport simulations.core\nimport numpy\n"
        "def f():\n    from .. import worlds\n"
    )
    assert imports_of("simulations.models._x", source, known) == {
        "simulations.models._lm",
        "simulations.worlds",
        "simulations.core",
    }


def test_the_referee_imports_nothing_of_simulations():
    modules = module_names("theory")
    for name, path in modules.items():
        found = imports_of(name, path, set(module_names("simulations")))
        assert found == set(), (name, found)
