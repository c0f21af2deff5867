"""Real interruptions: the command killed with SIGINT or SIGKILL while computing or drawing, then resumed.

After every interruption the finished results are intact and the next call
resumes; the final rows and figures equal those of an uninterrupted run.
"""

import pathlib
import random
import signal
import subprocess
import sys
import time

import pytest

COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))
ARGS = ["run", "transferability", "--profile", "tiny", "--set", "seeds=0,1,2,3", "--no-progress"]


def _start(tmp: pathlib.Path) -> subprocess.Popen:
    argv = [COMMAND, *ARGS, "--results", str(tmp / "results"), "--figures", str(tmp / "figures")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _outputs(tmp: pathlib.Path) -> dict[str, bytes]:
    files = [*tmp.glob("results/*/rows.csv"), *tmp.glob("figures/*.p*")]
    return {p.relative_to(tmp).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The outputs of an uninterrupted run, and how long it took."""
    tmp = tmp_path_factory.mktemp("reference")
    start = time.perf_counter()
    proc = _start(tmp)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return _outputs(tmp), time.perf_counter() - start


def _resume_and_compare(tmp: pathlib.Path, reference: dict[str, bytes]) -> None:
    assert not [p for p in tmp.rglob("*.p*") if p.stat().st_size == 0]  # no empty figure left behind
    proc = _start(tmp)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert _outputs(tmp) == reference


def _kill_at(tmp: pathlib.Path, sig: int, when: float) -> int:
    proc = _start(tmp)
    time.sleep(when)
    proc.send_signal(sig)
    proc.communicate(timeout=300)
    return proc.returncode


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, pytest.param(signal.SIGKILL, marks=pytest.mark.slow)], ids=["SIGINT", "SIGKILL"]
)
def test_killed_at_a_random_point_then_resumed(tmp_path, reference, sig):
    outputs, seconds = reference
    when = random.Random(f"{sig}-{seconds:.0f}").uniform(0.2, seconds)
    code = _kill_at(tmp_path, sig, when)
    assert code in (0, 130, -signal.SIGKILL)  # 0: it finished before the signal
    _resume_and_compare(tmp_path, outputs)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(8))
def test_killed_repeatedly_at_random_points(tmp_path, reference, trial):
    outputs, seconds = reference
    rng = random.Random(trial)
    for _ in range(3):  # three interruptions of the same run before it may finish
        _kill_at(tmp_path, rng.choice([signal.SIGINT, signal.SIGKILL]), rng.uniform(0.2, seconds))
    _resume_and_compare(tmp_path, outputs)


@pytest.mark.parametrize(
    "sig", [pytest.param(signal.SIGINT, marks=pytest.mark.slow), signal.SIGKILL], ids=["SIGINT", "SIGKILL"]
)
def test_killed_while_drawing_leaves_no_partial_figure(tmp_path, reference, sig):
    outputs, _ = reference
    proc = _start(tmp_path)
    figures = tmp_path / "figures"
    killed, deadline = False, time.monotonic() + 300
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        if list(figures.glob(".tmp-*")):  # a figure file is being written right now
            proc.send_signal(sig)
            killed = True
        time.sleep(0.002)
    proc.communicate(timeout=300)
    assert killed and proc.returncode in (130, -signal.SIGKILL)
    # whatever figure file exists is whole: the one being written was never renamed into place
    for p in figures.glob("transferability.*"):
        assert p.read_bytes() == outputs[f"figures/{p.name}"]
    _resume_and_compare(tmp_path, outputs)
