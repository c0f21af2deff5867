"""Progress on long work: a tqdm bar on a terminal, plain lines in a log file (no carriage returns).

A bar redraws itself with carriage returns, which a log file keeps as one
line of hundreds of updates; when standard error is not a terminal, progress
is a line 5 seconds after the work starts (unless a line came first, or the
work ended or failed), then at every tenth of it or every half minute,
whichever comes first, each with the time spent and an estimate of the time
left.
"""

from __future__ import annotations

import sys
from typing import Any


class LineProgress:
    """The part of tqdm's interface the package uses, printing plain lines: one `FIRST` seconds into the work, then
    one per tenth of the work or per `EVERY` seconds, with the time spent and the time left at the rate so far.
    Work that fails before its first line prints none (an error stays one line)."""

    #: Seconds between two lines while the work moves but a tenth is not reached.
    EVERY = 30.0
    #: Seconds after the start at which the first line is printed, if no other came first.
    FIRST = 5.0

    def __init__(self, total: int, desc: str, initial: int = 0, disable: bool = False) -> None:
        import time

        self.total, self.desc, self.n, self.disable = max(int(total), 0), desc, int(initial), disable
        self.postfix = ""
        self._start = self._last = time.monotonic()
        self._first = self.n
        self._shown = self._tenth()
        self._timer = None
        if not disable:
            import threading

            line = f"{desc}: started, {self.total} step(s) of work" + (f", {self.n} done before" if self.n else "")
            self._timer = threading.Timer(self.FIRST, lambda: print(line, file=sys.stderr, flush=True))
            self._timer.daemon = True
            self._timer.start()

    def _tenth(self) -> int:
        return 10 * self.n // self.total if self.total else 10

    def update(self, n: int = 1) -> None:
        import time

        self.n += n
        now = time.monotonic()
        if self.disable or not (self._tenth() > self._shown or now - self._last >= self.EVERY):
            return
        self._shown, self._last = self._tenth(), now
        self._cancel()
        spent = now - self._start
        done = self.n - self._first
        left = f", about {_duration(spent / done * (self.total - self.n))} left" if done and self.n < self.total else ""
        extra = f" ({self.postfix})" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} ({100 * self.n // max(self.total, 1)}%), {_duration(spent)} "
              f"spent{left}{extra}", file=sys.stderr, flush=True)  # fmt: skip

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cancel()


def _duration(seconds: float) -> str:
    """'42 s', '3 min 5 s', '1 h 2 min'."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def progress(total: int, desc: str, enabled: bool = True, initial: int = 0) -> Any:
    """A progress bar of `total` units: tqdm on a terminal, `LineProgress` when standard error is redirected."""
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, leave=True, dynamic_ncols=True)
    return LineProgress(total, desc, initial, disable=not enabled)
