"""Lessons as self-contained pages: `natural-tasks lesson` writes one HTML file per lesson, for a class.

Each page is a Bokeh document with sliders, written with Bokeh's JavaScript inlined: it opens from disk,
offline, with no server. Every number it can show was computed exactly by the package before the page was
written, on the grid the sliders offer; moving a slider only picks and formats one of them.

    1  world     a world where ε is known: P* and Q side by side, KL per context, ε
    2  bound     the probe's excess against ε under √(2B²ε/γ); ε, B, γ and the kind of LM move
    3  prompts   next words with and without "This movie is", τ(B), zero-shot against the probe
    4  sequence  a review from the sequence world, its exact next-word distributions, the prompt's answer
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..core import atomic_write, mark_html
from ..runs import check_output_path
from ._bound import bound_numbers, bound_page
from ._page import Page, write
from ._prompts import prompt_numbers, prompt_page
from ._sequence import sequence_numbers, sequence_page
from ._world import world_numbers, world_page

#: name -> (the page's builder, a one-line description)
LESSONS: dict[str, tuple[Callable[[int], Page], str]] = {
    "world": (world_page, "a world where ε is known: P* and Q side by side, KL per context, ε"),
    "bound": (bound_page, "the bound: the probe's excess against ε under √(2B²ε/γ), as ε, B, γ and the LM move"),
    "prompts": (prompt_page, 'prompts: next words with and without "This movie is", τ(B), zero-shot vs the probe'),
    "sequence": (sequence_page, "a review from the sequence world, its exact next words, what the prompt does"),
}


def lesson_names() -> list[str]:
    """The lessons, in teaching order."""
    return list(LESSONS)


#: name -> the stem of its page's file in the output folder (each lesson's `Page.name`)
FILES = {
    "world": "1-a-world-where-eps-is-known",
    "bound": "2-the-bound",
    "prompts": "3-prompts",
    "sequence": "4-a-review-and-its-next-word",
}


def write_lessons(names: Sequence[str], out: str | Path, seed: int = 0) -> Iterator[tuple[str, Path, float]]:
    """Write the pages of `names` into the folder `out` (created if needed), then `out/index.html` linking every
    page there; yields (name, path, seconds it took) as each page is written.

    A page replaces only a page natural-tasks wrote there before (`simulations.runs.check_output_path`).

    Raises:
      ValueError: an unknown lesson name, or a page's file or the index that may not be written (a folder, a
      link, someone else's file, a path inside a results folder), before anything is computed.
    """
    unknown = [n for n in names if n not in LESSONS]
    if unknown:
        raise ValueError(f"unknown lesson {unknown[0]!r}; the lessons are {', '.join(LESSONS)}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"lesson --out: {folder} is not a folder")
    for target in [folder / f"{FILES[n]}.html" for n in names] + [folder / "index.html"]:
        check_output_path(target, "lesson --out")
    for name in names:
        start = time.perf_counter()
        page = LESSONS[name][0](seed)
        if page.name != FILES[name]:
            raise RuntimeError(f"lesson {name} wrote {page.name}, not {FILES[name]}")
        path = write(page, folder)
        yield name, path, time.perf_counter() - start
    write_index(folder)


def write_index(folder: Path) -> Path:
    """`folder/index.html`: a plain page linking the lesson pages found in `folder`, in teaching order."""
    items = []
    for i, (name, (_, what)) in enumerate(LESSONS.items(), 1):
        if (folder / f"{FILES[name]}.html").is_file():
            items.append(f"<li><a href='{html.escape(FILES[name])}.html'>{i}. {html.escape(name)}</a>: "
                         f"{html.escape(what)}</li>")  # fmt: skip
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>natural-tasks lessons</title></head>"
            "<body style='font-family:sans-serif;max-width:50em;margin:2em auto'><h1>natural-tasks lessons</h1>"
            "<p>Why language models help solve downstream tasks (Saunshi, Malladi, Arora, ICLR 2021), in pages "
            "you can play with. Each works offline; every number on it was computed exactly beforehand.</p>"
            f"<ol style='list-style:none;padding:0'>{''.join(items)}</ol></body></html>")  # fmt: skip
    path = check_output_path(folder / "index.html", "lesson --out")
    atomic_write(path, lambda fh: fh.write(mark_html(page)))
    return path


__all__ = [
    "FILES",
    "LESSONS",
    "Page",
    "bound_numbers",
    "bound_page",
    "lesson_names",
    "prompt_numbers",
    "prompt_page",
    "sequence_numbers",
    "sequence_page",
    "world_numbers",
    "world_page",
    "write_index",
    "write_lessons",
]
