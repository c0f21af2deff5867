"""One figure style for every experiment; byte-identical reruns."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
FAMILY_STYLE = {
    "adversarial": dict(color="#d62728", marker="v"),
    "random": dict(color="#1f77b4", marker="o"),
    "trained": dict(color="#2ca02c", marker="s"),
    "corpus": dict(color="#9467bd", marker="D"),
    "worst_case": dict(color="#000000", marker="*"),
}


def new_figure(ncols: int, nrows: int = 1, width: float = 4.2, height: float = 3.8):
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 1.2), squeeze=False)
    return fig, axes


def finish_figure(fig, title: str, ok: bool, stem: str | Path) -> list[Path]:
    """Title the figure with its verdict (red when the claim failed), lay out, save."""
    fig.suptitle(title, color="black" if ok else "red")
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_hollow(ax, x, y, style: dict, label: str, markersize: float = 6, **kw) -> None:
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


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Save stem.png and stem.pdf with metadata stripped (reruns are byte-identical)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png, metadata={"Software": None})
    fig.savefig(pdf, metadata={"Creator": None, "Producer": None, "CreationDate": None})
    plt.close(fig)
    return [png, pdf]
