"""Stable hashes of frozen configs: results folders and worlds (`Instance.world_id`) are named by them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def to_dict(cfg: DataclassInstance) -> dict:
    return dataclasses.asdict(cfg)


def config_hash(cfg: DataclassInstance) -> str:
    """Short stable hash of a config (its JSON with sorted keys)."""
    text = json.dumps(to_dict(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
