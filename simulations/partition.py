"""How close log Z is to quadratic for embeddings read from a file (`natural-tasks partition`).

A researcher brings a published model's output embeddings (a V × d matrix in
`.npy` or `.safetensors`); this module reads them without pickle or torch,
samples θ's at several logit spreads (or reads them), and measures with
`theory.partition_fit` the (R6) δ of the gradient fit and the errors of the
quadratic and Gaussian forms (arXiv:2010.03648, §5.2 and its check of the
quadratic log-partition assumption on a trained LM's embeddings).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

import theory

from .core import progress as progress_bar
from .worlds import sample_thetas

#: Default logit spreads std_w(θᵀφ_w) of the sampled θ's.
SPREADS = (0.5, 1.0, 2.0, 4.0)


def load_matrix(path: str | Path, key: str | None = None) -> np.ndarray:
    """The 2-D numeric matrix stored in a `.npy` file (read with allow_pickle=False, memory-mapped), under
    `key` in a `.safetensors` file (NumPy API; `key` may be omitted when the file holds one 2-D tensor), or under
    `key` in a `.gguf` file, dequantised to float32 (by default its output embeddings: output.weight, or
    token_embd.weight when tied; needs the optional extra `real`).

    Raises:
      ValueError: unknown suffix, unreadable or truncated file, pickled or non-numeric data, a missing key,
        not 2-D, or NaN/infinite entries (one line naming the file).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise ValueError(f"{path}: --key applies to .safetensors files only")
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic != b"\x93NUMPY":  # NumPy calls any file without its header "pickled data"
            raise ValueError(f"{path}: not a .npy file (it does not start with NumPy's header)")
        try:
            with warnings.catch_warnings():  # a damaged header's size overflows with a warning first
                warnings.simplefilter("ignore", RuntimeWarning)
                arr = np.load(path, allow_pickle=False, mmap_mode="r")
        except ValueError as err:
            pickled = "Object arrays" in str(err) or "Python objects" in str(err)
            why = "holds pickled Python objects (refused: loading them can run code)" if pickled else err
            raise ValueError(f"{path}: not a readable .npy array: {why}") from None
        except (OSError, EOFError, OverflowError, MemoryError) as err:
            raise ValueError(f"{path}: not a readable .npy file ({err})") from None
    elif suffix == ".safetensors":
        arr = _load_safetensors(path, key)
    elif suffix == ".gguf":
        from .models import read_gguf_matrix

        arr, _ = read_gguf_matrix(path, key)
    else:
        raise ValueError(f"{path}: unknown format {suffix or '(no suffix)'!r}; use .npy, .safetensors or .gguf")
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D matrix, got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{path}: expected real numbers, got dtype {arr.dtype}")
    if min(arr.shape) < 1:
        raise ValueError(f"{path}: empty matrix of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: contains NaN or infinite entries")
    return arr


def _load_safetensors(path: Path, key: str | None) -> np.ndarray:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            keys = list(f.keys())
            if key is None:
                two_d = [k for k in keys if len(f.get_slice(k).get_shape()) == 2]
                if len(two_d) != 1:
                    listed = ", ".join(two_d[:8]) + (" ..." if len(two_d) > 8 else "")
                    raise ValueError(
                        f"{path}: holds {len(two_d)} 2-D tensors ({listed or 'none'}); pick one with --key"
                    )
                key = two_d[0]
            if key not in keys:
                raise ValueError(f"{path}: no tensor named {key!r} (has: {', '.join(keys[:8])})")
            return f.get_tensor(key)
    except ValueError:
        raise
    except Exception as err:  # safetensors raises its own SafetensorError (and TypeError for odd dtypes)
        why = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "bfloat16" in why:
            why += "; NumPy has no bfloat16: save the tensor as float32"
        raise ValueError(f"{path}: not a readable .safetensors file ({why})") from None


def load_embeddings(path: str | Path, key: str | None = None, transpose: bool = False) -> np.ndarray:
    """Φ as a float64 d × V matrix from a file storing V × d (one row per word, as published LMs store
    their output embeddings), or d × V with `transpose`."""
    arr = load_matrix(path, key)
    d, V = arr.shape[::-1] if not transpose else arr.shape
    if V < 2:
        raise ValueError(f"{path}: need at least 2 words, got V = {V} (rows are words unless --transpose)")
    if V <= d:
        hint = "drop --transpose" if transpose else "pass --transpose"
        raise ValueError(f"{path}: V = {V} words <= d = {d} dimensions: is the matrix transposed? ({hint})")
    return np.ascontiguousarray(arr if transpose else arr.T, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class PartitionReport:
    """One line of the `natural-tasks partition` table."""

    points: str  # "spread 1" for a sample, or the θ file's name
    n: int  # θ's the map was fitted on (and, for a sample, as many held-out θ's it was scored on)
    fit: theory.PartitionFit


#: Folds of the cross-validation on θ's read from a file.
FOLDS = 5
#: Salt of the θ stream, so that `--seed 0` does not draw NumPy's default_rng(0) numbers (those of a user's own
#: test matrix drawn with that generator).
SEED_SALT = 0x6C6F675A  # "logZ"


def min_thetas(d: int) -> int:
    """The fewest θ's a report is fitted on: 5(d + 1), so each of the 5 folds (or the held-out half) leaves the
    d + 1 coefficients per output of the map Φp_θ ≈ Aθ + c four points each."""
    return FOLDS * (d + 1)


def partition_report(
    phi: np.ndarray,
    thetas: ArrayLike | None = None,
    spreads: Iterable[float] = SPREADS,
    n: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> list[PartitionReport]:
    """`PartitionReport`s: one per spread of sampled θ's (isotropic directions; the map is fitted on `n` of them,
    default max(5(d + 1), 64), and every number is measured on `n` more, held out), or one for the given θ's
    (n × d, scored by 5-fold cross-validation). Scoring the map on the θ's it was fitted on would flatter it:
    through d + 1 points a linear map is exact.

    Raises:
      ValueError: fewer than 5(d + 1) θ's (sampled or given), or θ's of the wrong width.
    """
    d = phi.shape[0]
    if thetas is not None:
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim != 2 or thetas.shape[1] != d:
            raise ValueError(f"thetas must be n × d = n × {d}, got shape {thetas.shape}")
        if thetas.shape[0] < min_thetas(d):
            raise ValueError(
                f"--thetas: {thetas.shape[0]} θ's, but a {FOLDS}-fold cross-validation of the map in d = {d} "
                f"dimensions needs at least {FOLDS}(d + 1) = {min_thetas(d)}"
            )
        return [PartitionReport("given θ's", thetas.shape[0], theory.partition_fit(phi, thetas, folds=FOLDS))]
    n = max(min_thetas(d), 64) if n is None else n
    if n < min_thetas(d):
        raise ValueError(f"n must be at least {FOLDS}(d + 1) = {min_thetas(d)} to fit and score the map, got {n}")
    rng = np.random.default_rng([seed, SEED_SALT])
    moments = theory.embedding_moments(phi)
    out = []
    spreads = list(spreads)
    with progress_bar(len(spreads), "spreads", progress) as bar:
        for spread in spreads:
            fit_at, test_at = (sample_thetas(rng, phi, spread, n, moments.sigma) for _ in range(2))
            fit = theory.partition_fit(phi, fit_at, moments=moments, held_out=test_at)
            out.append(PartitionReport(f"spread {spread:g}", n, fit))
            bar.update(1)
    return out


#: The verdict's thresholds on the relative δ of the gradient map (held out).
QUADRATIC_REL_DELTA, LOCAL_REL_DELTA = 0.05, 0.3


def verdict(reports: list[PartitionReport]) -> str:
    """One line: where log Z is close to quadratic on these θ's (relative δ below 5%), roughly so (below 30%),
    and where it is not."""
    close = [r.points for r in reports if r.fit.rel_delta < QUADRATIC_REL_DELTA]
    rough = [r.points for r in reports if QUADRATIC_REL_DELTA <= r.fit.rel_delta < LOCAL_REL_DELTA]
    far = [r.points for r in reports if r.fit.rel_delta >= LOCAL_REL_DELTA]
    parts = [f"quadratic to within 5% (relative δ, held out) at {', '.join(close)}"] * bool(close)
    parts += [f"roughly quadratic (relative δ 5-30%) at {', '.join(rough)}"] * bool(rough)
    parts += [f"NOT quadratic (relative δ ≥ 30%: the (R6) assumption fails) at {', '.join(far)}"] * bool(far)
    return "verdict: " + "; ".join(parts)


#: What the table's columns mean (printed under it, and on the figure).
FOOTER = (
    "μ, Σ: mean and covariance of the embeddings φ_w over the words; A, c: the least-squares linear map\n"
    "Φp_θ ≈ Aθ + c fitted to the conditional means Φp_θ = ∇log Z_θ (log Z is quadratic exactly where such a map\n"
    "is exact), scored on held-out θ's (a sample) or by 5-fold cross-validation (given θ's).  δ: ‖Φp_θ − (Aθ + c)‖₂,\n"
    "the (R6) δ (max and mean); rel δ: δ mean / mean ‖Φp_θ − μ‖₂; quad / Gauss err: mean |log Z − form| / mean\n"
    "|log Z − log V − θᵀμ| for the quadratic the map integrates to and for log V + θᵀμ + ½θᵀΣθ;  Gauss δ: mean\n"
    "‖Φp_θ − (μ + Σθ)‖₂. Relative errors near 0 mean quadratic; near 1, a quadratic explains nothing of log Z's\n"
    "curvature."
)


def format_report(reports: list[PartitionReport]) -> str:
    """A plain-text table of the reports (relative errors against the curvature part of log Z)."""
    head = ("θ's", "n", "logit std", "δ max", "δ mean", "rel δ", "quad err", "Gauss err", "Gauss δ")
    rows = [
        (r.points, f"{r.n}", f"{r.fit.logit_std:.3g}", f"{r.fit.delta_max:.3g}", f"{r.fit.delta_mean:.3g}",
         f"{r.fit.rel_delta:.3g}", f"{r.fit.quad_rel_err:.3g}", f"{r.fit.gauss_rel_err:.3g}",
         f"{r.fit.gauss_delta_mean:.3g}")
        for r in reports
    ]  # fmt: skip
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def plot_report(reports: list[PartitionReport], title: str, stem: str | Path) -> list[Path]:
    """rel δ and both forms' errors against the logit spread (log-log), the verdict and the footer below."""
    from .experiments.kit import finish_figure, new_figure

    fig, axes = new_figure(1, width=7.5, height=5.6)
    ax = axes[0][0]
    x = [r.fit.logit_std for r in reports]
    sampled = [r for r in reports if r.points.startswith("spread ")]  # a curve over the spreads
    given = [r for r in reports if not r.points.startswith("spread ")]  # points of their own, not joined to it
    for k, (name, label, marker) in enumerate((("rel_delta", "relative δ of the gradient fit (held out)", "o"),
                                               ("quad_rel_err", "quadratic form: error on log Z", "s"),
                                               ("gauss_rel_err", "Gaussian form: error on log Z", "v"))):  # fmt: skip
        colour = f"C{k}"
        if sampled:
            ax.loglog([r.fit.logit_std for r in sampled], [getattr(r.fit, name) for r in sampled], marker=marker,
                      color=colour, label=f"{label}, sampled θ's")  # fmt: skip
        for r in given:
            ax.loglog([r.fit.logit_std], [getattr(r.fit, name)], marker=marker, ms=11, ls="none", color=colour,
                      markeredgecolor="black", label=f"{label}, {r.points}")  # fmt: skip
    ax.set_xlabel("spread of the logits std_w(θᵀφ_w)")
    ax.set_ylabel("relative error (see the footer)")
    ax.set_xticks(x, [f"{v:.3g}" for v in x])
    ax.xaxis.set_minor_formatter("")
    ax.legend(fontsize=8)
    far = any(r.fit.rel_delta >= LOCAL_REL_DELTA for r in reports)
    return finish_figure(fig, title + "\n" + verdict(reports), not far, stem, footer=FOOTER)
