"""One figure style for every experiment; byte-identical reruns.

matplotlib is imported on first use (Agg backend), so importing the package
or listing the experiments does not load it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "svg.hashsalt": "natural-tasks",
    "pdf.compression": 6,
}
FAMILY_STYLE: dict[str, dict[str, Any]] = {
    "adversarial": dict(color="#d62728", marker="v"),
    "random": dict(color="#1f77b4", marker="o"),
    "trained": dict(color="#2ca02c", marker="s"),
    "corpus": dict(color="#9467bd", marker="D"),
    "worst_case": dict(color="#000000", marker="*"),
    "worst_case_planted": dict(color="#7f7f7f", marker="x"),
    "mixed": dict(color="#ff7f0e", marker="^"),
    "exact": dict(color="#2ca02c", marker="s"),
    "learned": dict(color="#ff7f0e", marker="^"),
    "quad": dict(color="#1f77b4", marker="o"),
    "quad_learned": dict(color="#17becf", marker="^"),
    "quad_corpus": dict(color="#9467bd", marker="D"),
    "xent": dict(color="#2ca02c", marker="s"),
    "xent_learned": dict(color="#ff7f0e", marker="v"),
}
LEGEND_BELOW = dict(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=7, frameon=False)


def pyplot() -> ModuleType:
    """matplotlib.pyplot with the Agg backend (imported here, on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(ncols: int, nrows: int = 1, width: float = 4.2, height: float = 3.8) -> tuple[Figure, np.ndarray]:
    """A figure of nrows × ncols panels in the package style; axes as a 2-D array (even for one panel)."""
    plt = pyplot()
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 1.2), squeeze=False)
    return fig, axes


def finish_figure(fig: Figure, title: str, ok: bool, stem: str | Path) -> list[Path]:
    """Title the figure with its verdict (red when a claim failed), lay out, save.

    Title lines longer than the figure is wide are wrapped (a one-panel figure of a many-panel experiment).
    """
    from matplotlib.font_manager import FontProperties

    points = FontProperties(size=pyplot().rcParams["figure.titlesize"]).get_size_in_points()
    chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * points)))
    title = "\n".join(textwrap.fill(line, chars) if len(line) > chars else line for line in title.split("\n"))
    fig.suptitle(title, color="black" if ok else "red")
    fig.tight_layout()
    return save_figure(fig, stem)


def label_panels(axes: Iterable[Axes], panels: Iterable[tuple[str, str, str]]) -> None:
    """Set (xlabel, ylabel, title) of each panel, with the legend below it."""
    for ax, (xlabel, ylabel, title) in zip(axes, panels, strict=False):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(**LEGEND_BELOW)


def plot_hollow(
    ax: Axes, x: ArrayLike, y: ArrayLike, style: dict, label: str | None, markersize: float = 6, **kw: Any
) -> None:
    """Points drawn as hollow markers of a family's style (negative or floored values)."""
    ax.loglog(
        x,
        y,
        linestyle="none",
        markersize=markersize,
        marker=style["marker"],
        markerfacecolor=kw.pop("markerfacecolor", "none"),
        markeredgecolor=style["color"],
        label=label,
        **kw,
    )


def plot_signed(
    ax: Axes, x: ArrayLike, y: ArrayLike, style: dict, label: str, markersize: float = 5, **kw: Any
) -> None:
    """Signed values on log axes: positive ones filled, negative ones hollow at |y| (and counted in the legend)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    pos, neg = y > 0, y < 0
    if pos.any():
        ax.loglog(x[pos], y[pos], linestyle="none", markersize=markersize, label=label, **style, **kw)
    if neg.any():
        name = label.split(":")[0].split(" (")[0]
        plot_hollow(ax, x[neg], -y[neg], style, f"{name}: {neg.sum()} negative (hollow, at |·|)", markersize)


def plot_strips(
    ax: Axes,
    rows: Sequence[Any],
    families: Sequence[str],
    level_label: str,
    value: str = "excess",
    level: str = "bound_excess",
) -> None:
    """Strips of |value| on a log axis, one per target ε of the rows, families side by side, negatives circled.

    rows need the fields `target_eps`, `family`, `value` and `level`; one
    horizontal line per strip marks the mean `level` (e.g. the bound's excess).
    """
    targets = sorted({r.target_eps for r in rows})
    for i, target in enumerate(targets):
        at = [r for r in rows if r.target_eps == target]
        for j, family in enumerate(families):
            y = np.array([getattr(r, value) for r in at if r.family == family], dtype=float)
            if not y.size:
                continue
            x = i + (j - (len(families) - 1) / 2) * 0.12 + np.linspace(-0.04, 0.04, y.size)
            style = FAMILY_STYLE[family]
            ax.plot(x, np.abs(y), linestyle="none", markersize=5, alpha=0.8, label=family if i == 0 else None, **style)
            if (y < 0).any():
                ax.plot(x[y < 0], -y[y < 0], "o", markersize=9, markerfacecolor="none", markeredgecolor="k")
        mean = float(np.mean([getattr(r, level) for r in at]))
        ax.plot([i - 0.4, i + 0.4], [mean] * 2, "k-", lw=2, label=level_label if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(len(targets)), [f"ε = {t:g}" for t in targets])


def slope_label(fit: dict | None) -> str:
    """'slope 0.49 [0.48, 0.50]' from a `loglog_slope` result."""
    fit = fit or {}
    return f"slope {fit.get('slope', math.nan):.2f} [{fit.get('lo', math.nan):.2f}, {fit.get('hi', math.nan):.2f}]"


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Save stem.png and stem.pdf, each atomically, with metadata stripped (reruns are byte-identical)."""
    from ...core import atomic_write

    stem = Path(stem)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    try:
        atomic_write(png, lambda fh: fig.savefig(fh, format="png", metadata={"Software": None}), binary=True)
        meta = {"Creator": None, "Producer": None, "CreationDate": None}
        atomic_write(pdf, lambda fh: fig.savefig(fh, format="pdf", metadata=meta), binary=True)
    finally:
        pyplot().close(fig)
    return [png, pdf]
