"""Validated, frozen configuration dataclasses and the `--set key=value` overlay."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from .experiments import RunConfig

#: Upper bounds of counts that have no natural one, so that a typo (10^23 steps, in a sweep's grid or a
#: --set) is refused before it runs for ever: loop counts (steps, seeds' bootstrap resamples, directions),
#: dimensions, and sizes of a sampled corpus.
MAX_COUNT = 10**6
MAX_DIM = 10**5
MAX_CORPUS = 10**9

#: A frozen config dataclass; `override` returns the type it was given.
_ConfigT = TypeVar("_ConfigT", bound="DataclassInstance")


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


def to_dict(cfg: DataclassInstance) -> dict:
    return dataclasses.asdict(cfg)


def config_hash(cfg: DataclassInstance) -> str:
    """Short stable hash of a config (its JSON with sorted keys)."""
    text = json.dumps(to_dict(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _parse(text: str, current: Any, key: str) -> Any:
    if isinstance(current, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"--set {key}: expected true or false, got {text!r}")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--set {key}: expected an integer, got {text!r}") from None
    if isinstance(current, float) or current is None:
        try:
            return float(text)
        except ValueError:
            if current is None and text.lower() == "none":
                return None
            raise ValueError(f"--set {key}: expected a number, got {text!r}") from None
    if isinstance(current, tuple):
        items = [t for t in text.split(",") if t]
        if not items:
            raise ValueError(f"--set {key}: expected a comma-separated list, got {text!r}")
        proto = current[0] if current else ""
        return tuple(_parse(t, proto, key) for t in items)
    return text


def override(cfg: _ConfigT, assignments: list[str]) -> _ConfigT:
    """Return `cfg` with dotted `key=value` assignments applied (validated again)."""
    for item in assignments:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        cfg = _replace_path(cfg, key.strip().split("."), text.strip(), key)
    return cfg


def _replace_path(cfg: Any, path: list[str], text: str, full: str) -> Any:
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):  # is_dataclass is true of a class too
        raise ValueError(f"--set {full}: unknown key")
    names = {f.name for f in dataclasses.fields(cfg)}
    head = path[0]
    if head not in names:
        raise ValueError(f"--set {full}: unknown key {head!r} (known: {', '.join(sorted(names))})")
    current = getattr(cfg, head)
    if len(path) > 1:
        new = _replace_path(current, path[1:], text, full)
    else:
        if dataclasses.is_dataclass(current):
            raise ValueError(f"--set {full}: is a group; set one of its fields")
        new = _parse(text, current, full)
    return dataclasses.replace(cfg, **{head: new})


def check_run_fields(cfg: RunConfig) -> None:
    """Validate the fields every experiment config shares: seeds, bootstrap, violation_tol."""
    check_ranges("seeds", cfg.seeds, 0, 2**31 - 1, integer=True)
    check_range("bootstrap", cfg.bootstrap, 1, MAX_COUNT, integer=True)
    check_range("violation_tol", cfg.violation_tol, 0.0)
