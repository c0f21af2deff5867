"""One figure style for every experiment; byte-identical reruns.

matplotlib is imported on first use (Agg backend), so importing the package
or listing the experiments does not load it.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterable, Iterator, Sequence
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
#: Code names (features, families, embedding families) as a reader of a figure needs them.
WORDS = {
    "p_f": "p_f", "phi_p_f": "Φp_f", "f": "f", "p_f_class": "p_f on the class words", "zero_shot": "zero-shot",
    "quad": "Quad", "quad_learned": "Quad, Φ learned", "quad_corpus": "Quad on a corpus", "xent": "cross-entropy",
    "xent_learned": "cross-entropy, Φ learned", "exact": "exact objective", "corpus": "sampled corpus",
    "learned": "Φ learned", "trained": "trained", "student_t": "Student-t(3)", "zipf": "Zipf-biased world Φ",
    "worst_case": "worst case (refitted probe)", "worst_case_planted": "worst case (planted v*, b* fixed)",
    "p_star": "P*", "fine_sentiment": "5 sentiment levels",
}  # fmt: skip


def words(name: str) -> str:
    """A code name in words (`WORDS`), or the name itself."""
    return WORDS.get(name, name)


#: The title's colour for each overall verdict.
VERDICT_COLOUR = {"PASS": "black", "FAIL": "#d62728", "INCONCLUSIVE": "#c05a00"}
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


def finish_figure(fig: Figure, title: str, verdict: bool | str, stem: str | Path, footer: str = "") -> list[Path]:
    """Title the figure, coloured by its verdict (red: a claim FAILed; orange: one was INCONCLUSIVE), lay out, save.

    `verdict` is the figure's overall verdict (PASS, FAIL or INCONCLUSIVE; a bool means PASS or FAIL).
    Title lines longer than the figure is wide are wrapped (a one-panel figure of a many-panel experiment).
    `footer`: small print below the panels (what the columns of a table mean). Legends placed below their
    panel (`LEGEND_BELOW`) are moved under the panel's x label, so they never sit on it. While
    `layout_checks` is recording, the overlapping texts of the figure are recorded before it is saved.
    """
    from matplotlib.font_manager import FontProperties

    if isinstance(verdict, bool):
        verdict = "PASS" if verdict else "FAIL"
    largest = FontProperties(size=pyplot().rcParams["figure.titlesize"]).get_size_in_points()
    for points in (largest, *range(int(largest) - 1, 7, -1)):  # the largest size at which every line fits
        chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * points)))
        if all(len(line) <= chars for line in title.split("\n")):
            break
    title = "\n".join(textwrap.fill(line, chars) if len(line) > chars else line for line in title.split("\n"))
    fig.suptitle(title, color=VERDICT_COLOUR[verdict], fontsize=points)
    rect = (0.0, 0.0, 1.0, 1.0)
    if footer:
        size = 6.5
        fig.text(0.01, 0.01, footer, fontsize=size, va="bottom", ha="left", wrap=False)
        rect = (0.0, (footer.count("\n") + 1.6) * size * 1.25 / 72 / fig.get_figheight(), 1.0, 1.0)
    fig.tight_layout(rect=rect)
    if _tuck_legends(fig):
        fig.tight_layout(rect=rect)
    for record in _RECORDERS:
        record[str(stem)] = dict(overlaps=text_overlaps(fig), title_lines=title.count("\n") + 1)
    return save_figure(fig, stem)


def _tuck_legends(fig: Figure) -> bool:
    """Move every legend anchored below its panel to just under the panel's x label and tick labels."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas of `pyplot()`
    moved = False
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or legend.get_bbox_to_anchor() is None:
            continue
        anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
        if anchor.y0 >= 0:  # inside or above the panel: not a legend below it
            continue
        below = [ax.xaxis.label, *ax.get_xticklabels()]
        bottoms = [b.get_window_extent(renderer).y0 for b in below if b.get_visible() and b.get_text()]
        if not bottoms:
            continue
        y = ax.transAxes.inverted().transform((0.0, min(bottoms) - 4.0))[1]  # 4 pixels of air
        legend.set_bbox_to_anchor((0.5, y), transform=ax.transAxes)
        moved = True
    return moved


def _undrawn_tick_labels(axis: Any) -> list:
    """Tick labels matplotlib keeps, visible, but does not draw (their ticks lie outside the view interval).

    The ticks an axis draws are those of its private `_update_ticks` (matplotlib has no public call for them).
    """
    drawn = {id(label) for tick in axis._update_ticks() for label in (tick.label1, tick.label2)}
    ticks = list(axis.majorTicks) + list(axis.minorTicks)
    return [label for tick in ticks for label in (tick.label1, tick.label2) if id(label) not in drawn]


#: Dictionaries that `layout_checks` is filling: {figure stem: dict(overlaps=[text pairs], title_lines=n)}.
_RECORDERS: list[dict[str, dict]] = []


@contextlib.contextmanager
def layout_checks() -> Iterator[dict[str, dict]]:
    """Record, for every figure finished inside the block, the pairs of its texts that overlap (`text_overlaps`)
    and the lines of its title (after wrapping).

    Example::

        with layout_checks() as found:
            draw("sqrt_eps", rows, summary, folder)
        assert all(not f["overlaps"] and f["title_lines"] <= 2 for f in found.values())
    """
    found: dict[str, dict] = {}
    _RECORDERS.append(found)
    try:
        yield found
    finally:
        _RECORDERS.remove(found)


def text_overlaps(fig: Figure, tolerance: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of visible texts whose drawn boxes overlap by more than `tolerance` pixels each way, texts that a
    legend's box covers (the legend's own entries apart), and texts cut by the figure's edge: titles, axis labels,
    tick labels, legends, annotations."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    fig.draw_without_rendering()  # texts (legend entries, tick labels) take their places when drawn
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas of `pyplot()`
    legends = [a for a in fig.findobj(Legend) if a.get_visible()]
    owned = {id(t): i for i, leg in enumerate(legends) for t in leg.get_texts() + [leg.get_title()]}
    hidden = {id(label) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for label in _undrawn_tick_labels(axis)}
    texts = [
        t
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0 and id(t) not in hidden
    ]
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]

    def overlap(a, b) -> bool:
        return min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance and min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance

    page = fig.bbox
    out = [("outside the figure", t.get_text()) for t, a in boxes
           if a.x0 < page.x0 - tolerance or a.x1 > page.x1 + tolerance or a.y0 < page.y0 - tolerance
           or a.y1 > page.y1 + tolerance]  # fmt: skip
    for i, (t, a) in enumerate(boxes):
        for u, b in boxes[i + 1 :]:
            if owned.get(id(t)) is not None and owned.get(id(t)) == owned.get(id(u)):
                continue  # entries of one legend are laid out by the legend
            if overlap(a, b):
                out.append((t.get_text(), u.get_text()))
    for i, leg in enumerate(legends):
        box = leg.get_window_extent(renderer)
        out += [("legend", t.get_text()) for t, b in boxes if owned.get(id(t)) != i and overlap(box, b)]
    return out


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
    """Signed values on log axes: positive ones filled, negative ones hollow at |y| (and counted in the legend);
    values exactly 0 cannot be placed and are counted in the legend too."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    pos, neg, zero = y > 0, y < 0, int(np.sum(y == 0))
    if zero:
        label += f" ({zero} exactly 0, not drawn)"
    if pos.any():
        ax.loglog(x[pos], y[pos], linestyle="none", markersize=markersize, label=label, **style, **kw)
    if neg.any():
        name = label.split(":")[0].split(" (")[0]
        plot_hollow(ax, x[neg], -y[neg], style, f"{name}: {neg.sum()} negative (hollow, at |·|)", markersize)


#: The bounds of the sequence experiments, each drawn as bound − τ against the row's ε on the task's contexts:
#: (row field, line style, label).
BOTH_FORMS = (
    ("bound", "k-", "(R2) − τ, ε on the ends, γ = 1"),
    ("r9", "k:", "(R9) − τ, ε on the ends, γ = 1"),
    ("bound_prefixes", "--", "(R2) − τ with ε over all prefixes, γ = 1/L (at the row's ε on the ends)"),
)


def plot_bound_terms(ax: Axes, rows: Sequence[Any], specs: Iterable[tuple[str, str, str]] = BOTH_FORMS) -> None:
    """Each row's bound − τ against its ε (fields `eps`, `tau` and each spec's bound), one line per (field, style,
    label) sorted by ε; rows whose bound is not finite (a form that does not apply) are left out."""
    for field, style, label in specs:
        pts = sorted((r.eps, getattr(r, field) - r.tau) for r in rows if math.isfinite(getattr(r, field)))
        if pts:
            ax.loglog(*zip(*pts, strict=True), style, lw=1, marker="x" if field.startswith("r9") else ".", ms=4,
                      label=label, **({} if style[0] in "kC" else {"color": "0.45"}))  # fmt: skip


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
    """Save stem.png and stem.pdf, each atomically, with no metadata but the package's mark (reruns are
    byte-identical, and a later run recognises them as its own to replace: `simulations.core.check_output_file`).

    Raises:
      ValueError: before anything is written, when either file is there and not one this package wrote.
    """
    from ...core import PDF_METADATA, PNG_METADATA, atomic_write, check_output_file

    stem = Path(stem)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    try:
        for path in (png, pdf):
            check_output_file(path, "figure")
        atomic_write(png, lambda fh: fig.savefig(fh, format="png", metadata=PNG_METADATA), binary=True)
        atomic_write(pdf, lambda fh: fig.savefig(fh, format="pdf", metadata=PDF_METADATA), binary=True)
    finally:
        pyplot().close(fig)
    return [png, pdf]
