"""The public surface: lazy imports, flat exports, no private imports in tests, no outside references."""

import importlib
import inspect
import pathlib
import re
import subprocess
import sys

import simulations as sim
import theory

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_import_loads_neither_jax_nor_matplotlib():
    out = _python("import simulations, sys; print('jax' in sys.modules, 'matplotlib' in sys.modules)")
    assert out.returncode == 0 and out.stdout.split() == ["False", "False"], out.stderr


def test_bound_command_does_not_import_jax_and_list_not_matplotlib():
    code = (
        "import sys; from simulations import cli; cli.main({argv}); "
        "print('jax' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = _python(code.format(argv="['bound', '--tau', '0.1', '--B', '1', '--eps', '1e-3']"))
    assert out.returncode == 0 and out.stdout.split()[-2:] == ["False", "False"], out.stderr
    out = _python(code.format(argv="['list']"))
    assert out.returncode == 0 and out.stdout.split()[-1] == "False", out.stderr


def test_every_public_name_resolves():
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    for name in theory.__all__:
        assert getattr(theory, name) is not None, name
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", sim.__version__)


def test_tests_import_public_names_only():
    # the floors' packages (simulations.worlds, simulations.experiments.kit, ...) are public; their _modules are not
    private = re.compile(r"^\s*(from|import)\s+(simulations|theory)(\.[a-z]\w*)*\._", re.M)
    offenders = [p.name for p in (ROOT / "tests").rglob("*.py") if private.search(p.read_text())]
    assert offenders == []


def test_no_file_refers_to_a_document_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    # the pattern is assembled so that this file does not match itself
    outside = re.compile("DESIGN" + r"\.md|" + "STYLE" + r"\.md|\.\./" + "shared")
    kinds = (".py", ".md", ".toml", ".txt", "Makefile", "run")
    offenders = [f for f in tracked if f.endswith(kinds) and outside.search((ROOT / f).read_text())]
    assert offenders == []


#: The public modules reached by their own name rather than through `simulations.__all__`.
PUBLIC_MODULES = (
    "simulations.runs.sweep",
    "simulations.strategies",
    "simulations.partition",
    "simulations.demo",
    "simulations.gallery",
    "simulations.lessons",
)


def _unannotated(func, where: str) -> list[str]:
    """'where(param)' for every parameter of `func` without an annotation (self, cls, *args and **kwargs
    exempt), and 'where -> ' when the return is not annotated."""
    sig = inspect.signature(func)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    out = [
        f"{where}({name})"
        for name, param in sig.parameters.items()
        if name not in ("self", "cls") and param.kind not in variadic and param.annotation is inspect.Parameter.empty
    ]
    if sig.return_annotation is inspect.Signature.empty:
        out.append(f"{where} ->")
    return out


def _ours(obj) -> bool:
    return getattr(obj, "__module__", "").split(".")[0] in ("theory", "simulations")


def _methods(cls) -> list[tuple[str, object]]:
    """(name, function) of the public methods and properties `cls` itself defines in this project
    (what @dataclass and NamedTuple generate is private or a dunder, so it is left out by name)."""
    out = []
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        func = attr.fget if isinstance(attr, property) else getattr(attr, "__func__", attr)
        if inspect.isfunction(func) and _ours(func):
            out.append((f"{cls.__qualname__}.{name}", func))
    return out


def _missing_annotations(objects: list[tuple[str, object]]) -> list[str]:
    missing = []
    for where, obj in objects:
        if inspect.isclass(obj):
            if _ours(obj):
                for name, method in _methods(obj):
                    missing += _unannotated(method, f"{obj.__module__}.{name}")
            continue
        func = inspect.unwrap(obj)  # a JAX-transformed function (custom_vjp) wraps the one it was given
        if inspect.isfunction(func) and _ours(func):
            missing += _unannotated(obj, where)
    return missing


def test_every_public_function_and_method_is_annotated():
    objects = [(f"theory.{n}", getattr(theory, n)) for n in theory.__all__]
    objects += [(f"simulations.{n}", getattr(sim, n)) for n in sim.__all__]
    objects += [(f"experiment {n}", type(sim.get_experiment(n))) for n in sim.experiments.experiment_names()]
    assert _missing_annotations(objects) == []


def test_public_modules_annotate_every_function():
    objects = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        objects += [
            (f"{module_name}.{n}", obj)
            for n, obj in vars(module).items()
            if not n.startswith("_") and getattr(obj, "__module__", None) == module_name
        ]
    assert len(objects) > 10
    assert _missing_annotations(objects) == []
