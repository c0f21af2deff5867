"""`natural-tasks partition`: embeddings read from files the test writes (.npy, .safetensors), good and bad."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file
from scipy.special import logsumexp
from sklearn.linear_model import LinearRegression

from simulations import partition

COMMAND = str(pathlib.Path(sys.executable).with_name("natural-tasks"))


def _cli(*argv, timeout=120):
    return subprocess.run([COMMAND, "partition", *argv], capture_output=True, text=True, timeout=timeout)


def _table(stdout: str) -> list[list[str]]:
    """The data lines of the printed table, split into cells (the θ label may hold one space)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) <= {"-", " "} and line.strip()) + 1
    out = []
    for line in lines[start:]:
        if not re.match(r"^\s*(spread|given)", line):
            break
        out.append(re.split(r"\s{2,}", line.strip()))
    return out


@pytest.fixture(scope="module")
def phi(tmp_path_factory):
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 300)) / 2.0  # d × V


def test_npy_and_safetensors_and_transpose_agree(tmp_path, phi):
    np.save(tmp_path / "e.npy", phi.T.astype(np.float32))  # V × d, as published LMs store them
    np.save(tmp_path / "t.npy", phi.astype(np.float32))  # d × V
    save_file({"lm_head.weight": np.ascontiguousarray(phi.T, dtype=np.float32)}, str(tmp_path / "e.safetensors"))
    outs = [
        _cli("--embeddings", str(tmp_path / "e.npy")),
        _cli("--embeddings", str(tmp_path / "t.npy"), "--transpose"),
        _cli("--embeddings", str(tmp_path / "e.safetensors")),
    ]
    for out in outs:
        assert out.returncode == 0, out.stderr
        assert "V = 300 words, d = 4" in out.stdout
    tables = [_table(o.stdout) for o in outs]
    assert len(tables[0]) == 4 and tables[0] == tables[1] == tables[2]


def test_given_thetas_match_an_independent_gradient_fit(tmp_path, phi):
    rng = np.random.default_rng(1)
    thetas = rng.normal(size=(40, 4))  # scored by 5-fold cross-validation (contiguous folds)
    np.save(tmp_path / "e.npy", phi.T)
    np.save(tmp_path / "th.npy", thetas)
    out = _cli("--embeddings", str(tmp_path / "e.npy"), "--thetas", str(tmp_path / "th.npy"))
    assert out.returncode == 0, out.stderr
    (row,) = _table(out.stdout)
    # gradients by central differences of SciPy's logsumexp, the map by scikit-learn
    h, grads = 1e-5, np.empty_like(thetas)
    for j in range(4):
        e = np.eye(4)[j] * h
        grads[:, j] = (logsumexp((thetas + e) @ phi, axis=1) - logsumexp((thetas - e) @ phi, axis=1)) / (2 * h)
    from sklearn.model_selection import KFold, cross_val_predict

    predicted = cross_val_predict(LinearRegression(), thetas, grads, cv=KFold(5))
    resid = np.linalg.norm(grads - predicted, axis=1)
    assert float(row[3]) == pytest.approx(resid.max(), rel=5e-3)  # δ max, printed to 3 significant digits
    assert float(row[4]) == pytest.approx(resid.mean(), rel=5e-3)


def test_safetensors_with_several_tensors_needs_a_key(tmp_path, phi):
    path = str(tmp_path / "m.safetensors")
    save_file({"wte": phi.T.copy(), "wpe": phi[:, :10].T.copy(), "bias": np.zeros(3)}, path)
    out = _cli("--embeddings", path)
    assert out.returncode == 2 and "holds 2 2-D tensors" in out.stderr and "--key" in out.stderr
    assert _cli("--embeddings", path, "--key", "wte").returncode == 0


def _pickled(tmp):
    path = tmp / "p.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def _truncated_npy(tmp):
    path = tmp / "t.npy"
    np.save(path, np.ones((100, 4)))
    path.write_bytes(path.read_bytes()[:-200])
    return path


def _truncated_safetensors(tmp):
    path = tmp / "t.safetensors"
    save_file({"w": np.ones((100, 4))}, str(path))
    path.write_bytes(path.read_bytes()[:-200])
    return path


def _write(name, arr):
    def make(tmp):
        path = tmp / name
        np.save(path, arr)
        return path

    return make


def _huge_header(tmp):
    """A .npy whose header claims a 10¹² × 10¹² matrix over 32 bytes of data."""
    path = tmp / "huge.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 10**12)})
        f.write(np.ones(4).tobytes())
    return path


def _all_alike(tmp):
    path = tmp / "alike.npy"
    np.save(path, np.ones((30, 3)))
    return path


def _named(name, text):
    def make(tmp):
        path = tmp / name
        path.write_text(text)
        return path

    return make


def _text(tmp):
    path = tmp / "e.txt"
    path.write_text("1 2 3")
    return path


BAD_FILES = [
    (_pickled, [], "pickled"),
    (_truncated_npy, [], "not a readable .npy"),
    (_truncated_safetensors, [], "not a readable .safetensors"),
    (_write("nan.npy", np.array([[1.0, np.nan], [0.0, 1.0], [2.0, 1.0]])), [], "NaN or infinite"),
    (_write("cube.npy", np.ones((3, 3, 3))), [], "expected a 2-D matrix"),
    (_write("strings.npy", np.array([["a", "b"], ["c", "d"]])), [], "expected real numbers"),
    (_write("one.npy", np.ones((1, 5))), [], "need at least 2 words"),
    (_write("dxv.npy", np.ones((4, 300))), [], "is the matrix transposed? (pass --transpose)"),
    (_write("vxd.npy", np.ones((300, 4))), ["--transpose"], "is the matrix transposed? (drop --transpose)"),
    (_text, [], "unknown format '.txt'"),
    (_named("words.npy", "hello world"), [], "not a .npy file (it does not start with NumPy's header)"),
    (lambda tmp: tmp / "missing.npy", [], "no such file"),
    (lambda tmp: tmp, [], "is a folder"),
    (_huge_header, [], "not a readable .npy"),
    (_all_alike, [], "all words alike"),
    (_write("big.npy", np.full((30, 3), 1e200)), [], "overflow"),
    (_truncated_safetensors, ["--key", "x"], "not a readable"),
    (_write("ok.npy", np.ones((30, 3))), ["--key", "w"], "--key applies to .safetensors"),
    (_write("ok.npy", np.ones((30, 3))), ["--spreads", "1,-2"], "argument --spreads"),
    (_write("ok.npy", np.ones((30, 3))), ["--n", "3"], "n must be at least 5(d + 1) = 20"),
]


@pytest.mark.parametrize("make, extra, message", BAD_FILES, ids=[m for *_, m in BAD_FILES])
def test_bad_files_exit_2_with_one_line(tmp_path, make, extra, message):
    out = _cli("--embeddings", str(make(tmp_path)), *extra)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_thetas_of_the_wrong_width_exit_2(tmp_path, phi):
    np.save(tmp_path / "e.npy", phi.T)
    np.save(tmp_path / "th.npy", np.ones((10, 3)))
    out = _cli("--embeddings", str(tmp_path / "e.npy"), "--thetas", str(tmp_path / "th.npy"))
    assert out.returncode == 2 and "n × d = n × 4" in out.stderr


def test_figure(tmp_path, phi):
    np.save(tmp_path / "e.npy", phi.T)
    out = _cli("--embeddings", str(tmp_path / "e.npy"), "--figure", str(tmp_path / "fig" / "lz"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fig" / "lz.png").stat().st_size > 0


@pytest.mark.slow
def test_gpt2_sized_safetensors_within_memory(tmp_path):
    """A 50,257 × 768 float32 matrix (GPT-2's output embeddings' shape): the peak memory of the command."""
    rng = np.random.default_rng(2026)  # not the command's θ seed 0: its θ's would be the first words' embeddings
    save_file({"wte": rng.normal(size=(50_257, 768)).astype(np.float32)}, str(tmp_path / "g.safetensors"))
    out = subprocess.run(
        [sys.executable, "-c", "import resource, sys; from simulations.cli import main; rc = main(sys.argv[1:]); "
         "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)",
         "partition", "--embeddings", str(tmp_path / "g.safetensors"), "--spreads", "1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split("maxrss_kb")[1]) < 4 * 2**20  # under 4 GiB


def test_load_matrix_is_not_fooled_by_a_pickle_with_a_npy_suffix(tmp_path):
    with pytest.raises(ValueError, match="pickled"):
        partition.load_matrix(_pickled(tmp_path))
