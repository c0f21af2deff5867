"""The natural-tasks command, run as users run it: the installed console script, in a subprocess."""

import pathlib
import subprocess
import sys

import pytest

import simulations as sim

COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))


def _cli(*argv, cwd=None, timeout=120):
    return subprocess.run([COMMAND, *argv], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def _damaged_part(tmp: pathlib.Path) -> str:
    run = sim.run_experiment("transferability", sim.get_experiment("transferability").profiles["tiny"], tmp / "r")
    part = next(run.store.path.glob("gen-*/parts/seed-0.csv"))
    part.write_text("".join(part.read_text().splitlines(keepends=True)[:-1]))
    return str(tmp / "r")


def _a_file(tmp: pathlib.Path) -> str:
    path = tmp / "a-file"
    path.write_text("")
    return str(path)


TINY = ["--profile", "tiny", "--no-progress"]
#: (argv, words the one line on stderr must contain); every one exits 2. `{file}` is a plain file,
#: `{damaged}` a results folder with a part cut at a line boundary.
BAD_INPUT = [
    (["run", "nope"], "unknown experiment 'nope'"),
    (["run", "sqrt_eps", "--set", "world.vocab_size=1"], "world.vocab_size must be in"),
    (["run", "sqrt_eps", "--set", "world.vocab_size=abc"], "expected an integer"),
    (["run", "sqrt_eps", "--set", "task.alpha=x"], "expected a number"),
    (["run", "sqrt_eps", "--seed", "-3"], "seed must be in"),
    (["run", "sqrt_eps", "--set", "world.vocab_size=10000000000"], "world.vocab_size × world.num_contexts"),
    (["run", "sqrt_eps", "--set", "world.num_contexts=100000000"], "world.vocab_size × world.num_contexts"),
    (["run", "sqrt_eps", "--set", "world.num_contexts=5"], "features f need at least 10 task contexts"),
    (["run", "sqrt_eps", "--set", "task.task_fraction=0.01"], "features f need at least 10 task contexts"),
    (["run", "transferability", *TINY, "--figures", "{file}"], "is not a folder"),
    (["run", "transferability", *TINY, "--figures", "{file}/sub"], "not writable"),
    (["run", "transferability", *TINY, "--force", "--results", "{file}/sub"], "not writable"),
    (["run", "transferability", *TINY, "--results", "{damaged}"], "seed-0.csv is damaged"),
    (["bound", "--tau", "0.1", "--B", "1", "--eps", "-1"], "must be a finite number >= 0"),
    (["bound", "--tau", "0.1", "--B", "1", "--eps", "-1e-3"], "must be a finite number >= 0"),
    (["bound", "--tau", "0.1", "--B", "0", "--eps", "1"], "must be > 0"),
    (["bound", "--tau", "0.1", "--B", "1", "--eps", "1", "--gamma", "0"], "must be in (0, inf]"),
    (["--threads", "0", "list"], "thread count must be in"),
    (["reproduce", "--only", "nope"], "unknown experiment"),
    (
        [
            "run",
            "sequence",
            "--set",
            "train.batch=2048",
            "--set",
            "world.length=2000",
            "--set",
            "world.vocab_size=20000",
        ],
        "train.batch × world.length × world.vocab_size",
    ),
    (
        ["run", "sequence", "--set", "world.documents=200000", "--set", "world.length=2000"],
        "world.documents × world.length × the states",
    ),
    (
        ["run", "sequence_world", "--set", "world.documents=900000", "--set", "world.vocab_size=20000"],
        "world.documents × world.vocab_size × the suffixes",
    ),
    (["run", "sequence", "--set", "lms=gru-016,gru-16"], "without leading zeros"),
    (["run", "sequence_world", "--set", "world.prompt=this,moovie,is"], "world.prompt: word 'moovie'"),
    (
        [
            "sweep",
            "sequence_world",
            "--profile",
            "tiny",
            "--grid",
            "world.prompt=this,movie,is;this,moovie,is",
            "--results",
            "{file}/never",
        ],
        "world.prompt: word 'moovie'",
    ),
    (["reproduce", "--profile", "huge"], "invalid choice"),
    (["run", "random_errors", "--set", "directions=100000000000000000000000"], "directions must be in [1, 1000000]"),
    (["run", "sqrt_eps", "--set", "lm.steps=10000000000"], "lm.steps must be in"),
    (["run", "tightness", "--profile", "gpt2"], "unknown profile 'gpt2' for tightness"),
    (["run", "sqrt_eps", "--profile", "gpt2", "--set", "families=trained"], "take only the tilt families"),
    (["run", "sqrt_eps", "--profile", "gpt2", "--set", "features=p_f,f"], "p_f features in the box class only"),
    (
        ["run", "sqrt_eps", "--profile", "gpt2", "--set", "world.num_contexts=2000000"],
        "world.vocab_size × world.num_contexts",
    ),
    (["demo", "--eps", "0"], "eps must be in (0, 10]"),
    (["demo", "--eps", "nan"], "eps must be in (0, 10]"),
    (["demo", "--seed", "x"], "expected an integer seed"),
    (["demo", "--kind", "tilted"], "argument --kind: invalid choice: 'tilted'"),
    (["demo", "--plot", "{file}/sub/hero.png"], "lies under a file, not a folder"),
    (["demo", "--plot", "hero.svg"], "give a file name ending in .png"),
    (["demo", "--kind", "trained", "--eps", "1e-12"], "the trained LM reached ε ="),
]


@pytest.mark.parametrize(
    "argv, message", BAD_INPUT, ids=[" ".join(a[:3]) + f"#{i}" for i, (a, _) in enumerate(BAD_INPUT)]
)
def test_bad_input_exits_2_with_one_line_before_any_work(argv, message, tmp_path):
    fill = {"{file}": _a_file(tmp_path)}
    if "{damaged}" in argv:
        fill["{damaged}"] = _damaged_part(tmp_path)
    argv = [fill.get(a, a.replace("{file}", fill["{file}"])) for a in argv]
    out = _cli(*argv, cwd=tmp_path)
    err = out.stderr.strip()
    assert out.returncode == 2, (out.stdout, err)
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    if "{damaged}" not in " ".join(argv) and "--results" not in argv:
        assert not (tmp_path / "results").exists()  # refused before any results folder was made


def test_bound_accepts_an_infinite_gamma_and_says_when_it_is_vacuous(tmp_path):
    out = _cli("bound", "--tau", "0.3", "--B", "1", "--eps", "1e-3", "--gamma", "inf")
    assert out.returncode == 0 and "bound                 = 0.3 " in out.stdout and "vacuous" not in out.stdout
    # at or above the constant predictor's loss (log 2 for balanced labels) it says so, and below which ε it would
    # say something: √(2ε) = log 2 − 0.3 at ε = (log 2 − 0.3)²/2 = 0.0773
    out = _cli("bound", "--tau", "0.3", "--B", "1", "--eps", "0.5")
    assert out.returncode == 0 and "vacuous: at or above the constant predictor's loss" in out.stdout
    assert "below eps = 0.0773" in out.stdout and "0-1 error" not in out.stdout
    out = _cli("bound", "--tau", "0.1", "--B", "1", "--eps", "0.01", "--trivial", "0.2")
    assert "vacuous" in out.stdout and "below eps = 0.005" in out.stdout  # a task whose H(η̄) is 0.2
    out = _cli("bound", "--tau", "0.1", "--B", "1", "--eps", "1e-5")
    assert "0-1 error at most     = 0.151 " in out.stdout and "log 2" in out.stdout
    assert "γ > 1" in _cli("bound", "--help").stdout


def test_version_and_python_dash_m():
    out = _cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"natural-tasks {sim.__version__}"
    out = subprocess.run([sys.executable, "-m", "simulations", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and "sqrt_eps" in out.stdout


def test_a_failed_claim_exits_1_and_reuse_is_reported(tmp_path):
    # α = 1 makes the planted probe Bayes-optimal: concentrated errors cost ∝ ε/γ, not √(ε/γ), and the claim FAILs
    argv = ["run", "transferability", *TINY, "--set", "task.alpha=1", "--results", str(tmp_path)]
    out = _cli(*argv)
    assert out.returncode == 1 and "concentrated_rate" in out.stderr and "FAIL" in out.stdout
    assert "computed 2 seed(s)" in out.stdout
    again = _cli(*argv)
    assert again.returncode == 1 and "reused finished results" in again.stdout


def test_small_profiles_never_draw_over_the_committed_figures(tmp_path):
    out = _cli("reproduce", *TINY, "--only", "transferability", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "build" / "figures-tiny" / "transferability.png").exists()
    assert not (tmp_path / "figures").exists()


def test_demo_walks_through_one_context():
    out = _cli("demo", "--seed", "1", "--eps", "1e-3")
    assert out.returncode == 0, out.stderr
    for words in ("Top next words", "P*, with prompt", "bound τ+2B√(2ε/γ)", "zero-shot acc", "constant predictor"):
        assert words in out.stdout


def test_show_lists_every_setting_and_what_a_sweep_can_plot(tmp_path):
    """`show` names each config key with its meaning, type, range and every profile's value, then the summary
    numbers a sweep can plot (here from the tiny profile, computed into a temporary folder: nothing is written)."""
    out = _cli("show", "transferability", "--results", str(tmp_path / "none"), timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for words in ("world.vocab_size (int, in [", "tiny=", "quick=", "standard=", "--metric", "claims: bound_holds"):
        assert words in text, words
    assert not (tmp_path / "none").exists()
    assert all(len(line) <= 100 for line in text.splitlines())
    assert _cli("show", "nope").returncode == 2
