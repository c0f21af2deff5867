"""Range and choice checks with one clear error, used by every layer's configs and public functions."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable

#: Upper bounds of counts that have no natural one, so that a typo (10^23 steps, in a sweep's grid or a
#: --set) is refused before it runs for ever: loop counts (steps, seeds' bootstrap resamples, directions),
#: dimensions, and sizes of a sampled corpus.
MAX_COUNT = 10**6
MAX_DIM = 10**5
MAX_CORPUS = 10**9


def check_range(
    name: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise ValueError naming `name` unless lo (<|<=) value <= hi."""
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not integer and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    low_ok = lo is None or (value > lo if lo_open else value >= lo)
    if not low_ok or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else f"{lo}"
        hi_s = "inf" if hi is None else f"{hi}"
        bracket = "(" if lo_open or lo is None else "["
        raise ValueError(f"{name} must be in {bracket}{lo_s}, {hi_s}], got {value!r}")


def check_choice(name: str, value: str, choices: Collection[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")


def check_choices(name: str, values: Collection[str], choices: Iterable[str]) -> None:
    """A non-empty tuple whose every entry is one of `choices`."""
    if not values:
        raise ValueError(f"{name} must not be empty")
    for v in values:
        check_choice(name, v, set(choices))


def check_ranges(
    name: str,
    values: Collection[float],
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    integer: bool = False,
) -> None:
    """A non-empty tuple whose every entry passes `check_range`."""
    if not values:
        raise ValueError(f"{name} must not be empty")
    for v in values:
        check_range(name, v, lo, hi, lo_open=lo_open, integer=integer)
