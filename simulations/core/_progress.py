"""Progress on long work: a tqdm bar on a terminal, plain lines in a log file (no carriage returns).

A bar redraws itself with carriage returns, which a log file keeps as one
line of hundreds of updates; when standard error is not a terminal, progress
is a line at every tenth of the work instead.
"""

from __future__ import annotations

import sys
from typing import Any


class LineProgress:
    """The part of tqdm's interface the package uses, printing one plain line per tenth of the work."""

    def __init__(self, total: int, desc: str, initial: int = 0, disable: bool = False) -> None:
        self.total, self.desc, self.n, self.disable = max(int(total), 0), desc, int(initial), disable
        self.postfix = ""
        self._shown = self._tenth()

    def _tenth(self) -> int:
        return 10 * self.n // self.total if self.total else 10

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.disable and self._tenth() > self._shown:
            self._shown = self._tenth()
            extra = f" ({self.postfix})" if self.postfix else ""
            print(f"{self.desc}: {self.n}/{self.total} ({100 * self.n // max(self.total, 1)}%){extra}",
                  file=sys.stderr, flush=True)  # fmt: skip

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress(total: int, desc: str, enabled: bool = True, initial: int = 0) -> Any:
    """A progress bar of `total` units: tqdm on a terminal, `LineProgress` when standard error is redirected."""
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, leave=True, dynamic_ncols=True)
    return LineProgress(total, desc, initial, disable=not enabled)
