"""The parts every lesson page shares: its frame (title, what to look at, how the numbers were made), the
readout, the slider a script can move, and the self-contained HTML file.

A page is one Bokeh document written with Bokeh's own JavaScript inlined (`bokeh.resources.INLINE`): it
opens from disk with no server and no network. Every number it shows was computed in Python by the package
before the page was written; the small callbacks only pick the precomputed entry for the widgets' state and
format it (three significant digits, in scientific notation below 1e-3).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import CustomJS, Div, UIElement
from bokeh.resources import INLINE

#: JavaScript shared by the callbacks: three significant digits, in scientific notation below 1e-3 (as the command
#: line prints numbers), as the tests read them back.
JS_FORMAT = (
    "const fmt = (x) => (x === null || Number.isNaN(x)) ? 'n/a' : (x !== 0 && Math.abs(x) < 1e-3) ? "
    "Number(x).toExponential(2) : String(Number(Number(x).toPrecision(3)));\n"
)
WIDTH = 1100


class Page(NamedTuple):
    """A lesson page: its file name's stem, its title and the HTML text."""

    name: str
    title: str
    html: str


def rounded(a: Any) -> Any:
    """Arrays as nested lists of Python floats (what a callback can index); float64 kept to the last digit."""
    return np.asarray(a, dtype=np.float64).tolist()


def frame(title: str, look: list[str], body: UIElement, how: list[str], ready: CustomJS) -> str:
    """The page: its title, "What to look at" (a list of plain sentences), the widgets and plots, and "How
    these numbers were computed"; `ready` runs once when the page has loaded (it fills the readouts)."""
    head = Div(
        text=f"<h1 style='margin-bottom:4px'>{html.escape(title)}</h1>"
        "<p style='margin-top:0;color:#555'>natural-tasks lesson · Saunshi, Malladi, Arora, "
        "<i>A Mathematical Exploration of Why Language Models Help Solve Downstream Tasks</i> (ICLR 2021, "
        "arXiv:2010.03648)</p><h3>What to look at</h3><ul>" + "".join(f"<li>{item}</li>" for item in look) + "</ul>",
        width=WIDTH,
        name="look",
    )
    foot = Div(
        text="<h3>How these numbers were computed</h3><ul>" + "".join(f"<li>{item}</li>" for item in how) + "</ul>",
        width=WIDTH,
        name="how",
    )
    doc = Document()
    doc.add_root(column(head, body, foot))
    doc.js_on_event("document_ready", ready)
    return file_html(doc, INLINE, title)


def legend_outside(fig: Any, where: str = "below") -> Any:
    """Move `fig`'s legend out of the plotting area (under it by default), so that it can never cover a drawn
    point or curve, whatever the sliders draw; returns the legend."""
    legend = fig.legend[0]
    fig.center = [r for r in fig.center if r is not legend]
    fig.add_layout(legend, where)
    legend.border_line_alpha = 0.0
    return legend


def readout(name: str = "readout") -> Div:
    """The box of exact numbers a callback rewrites (monospaced, so columns line up)."""
    return Div(text="", name=name, width=WIDTH, styles={"font-family": "monospace", "font-size": "14px",
                                                        "background": "#f6f6f6", "padding": "8px"})  # fmt: skip


def write(page: Page, out: str | Path) -> Path:
    """Write `page` as `out/<name>.html`, marked as natural-tasks' own, and return its path.

    Raises:
      ValueError: the file may not be written (`simulations.runs.check_output_path`).
    """
    from ..core import atomic_write, mark_html
    from ..runs import check_output_path

    path = check_output_path(Path(out) / f"{page.name}.html", "lesson --out")
    html_text = mark_html(page.html)
    atomic_write(path, lambda fh: fh.write(html_text.encode("utf-8")), binary=True)
    return path
