"""Result rows: one frozen dataclass per experiment (the declared schema), selection, CSV cells.

Rows are data. Each experiment declares its row type; the results store
writes exactly its fields as CSV columns and checks them on load, and the
analysis selects rows by field values instead of filtering dicts by string
keys.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

CELL_TYPES = (float, int, bool, str)


def row_fields(row_type: type) -> dict[str, type]:
    """{field name: type} of a row dataclass, in declaration order (its CSV columns)."""
    hints = typing.get_type_hints(row_type)
    out = {f.name: hints[f.name] for f in dataclasses.fields(row_type)}
    for name, tp in out.items():
        if tp not in CELL_TYPES:
            raise TypeError(f"{row_type.__name__}.{name}: row fields must be float, int, bool or str, got {tp}")
    return out


def select(rows: Iterable[Any], **where: Any) -> list[Any]:
    """Rows whose fields equal the given values; a tuple, list or set means "any of these".

    Example: ``select(rows, family="adversarial", feature=("p_f", "f"))``.
    """
    tests = {k: (set(v) if isinstance(v, tuple | list | set | frozenset) else {v}) for k, v in where.items()}
    return [r for r in rows if all(getattr(r, k) in allowed for k, allowed in tests.items())]


def column(rows: Sequence[Any], name: str) -> np.ndarray:
    """One field of every row as an array."""
    return np.array([getattr(r, name) for r in rows])


def values(rows: Iterable[Any], name: str) -> list[Any]:
    """The distinct values of one field, in order of first appearance."""
    return list(dict.fromkeys(getattr(r, name) for r in rows))


def to_cells(row: Any, types: dict[str, type] | None = None) -> dict[str, str]:
    """A row as CSV cells, each written as its declared type: floats by repr (round-trips exactly,
    NumPy scalars included), bools as True/False."""
    types = types or row_fields(type(row))
    return {name: _cell(tp, getattr(row, name)) for name, tp in types.items()}


def _cell(tp: type, x) -> str:
    if tp is bool:
        return "True" if bool(x) else "False"
    if tp is float:
        return repr(float(x))
    if tp is int:
        return str(int(x))
    return str(x)


def from_cells(row_type: type, cells: dict[str, str], types: dict[str, type] | None = None) -> Any:
    """Parse CSV cells back into a row; ValueError names the bad column and cell."""
    types = types or row_fields(row_type)
    out: dict[str, Any] = {}
    for name, tp in types.items():
        text = cells[name]
        if tp is bool:
            if text not in ("True", "False"):
                raise ValueError(f"column {name}: expected True or False, got {text!r}")
            out[name] = text == "True"
        elif tp is str:
            out[name] = text
        else:
            try:
                out[name] = tp(text)
            except (TypeError, ValueError):
                raise ValueError(f"column {name}: expected {tp.__name__}, got {text!r}") from None
    return row_type(**out)


def finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)
