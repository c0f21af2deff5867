"""The public surface: lazy imports, flat exports, no private imports in tests, no outside references."""

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
    private = re.compile(r"^\s*(from|import)\s+(simulations|theory)\.(_|experiments\.)", re.M)
    offenders = [p.name for p in (ROOT / "tests").rglob("*.py") if private.search(p.read_text())]
    assert offenders == []


def test_no_file_refers_to_a_document_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    # the pattern is assembled so that this file does not match itself
    outside = re.compile("DESIGN" + r"\.md|" + "STYLE" + r"\.md|\.\./" + "shared")
    kinds = (".py", ".md", ".toml", ".txt", "Makefile", "run")
    offenders = [f for f in tracked if f.endswith(kinds) and outside.search((ROOT / f).read_text())]
    assert offenders == []
