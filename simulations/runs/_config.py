"""Configs as data: the `--set key=value` overlay (validated again on every change) and config hashes."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from ..core import config_hash, to_dict

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["config_hash", "override", "to_dict"]

#: A frozen config dataclass; `override` returns the type it was given.
_ConfigT = TypeVar("_ConfigT", bound="DataclassInstance")


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
