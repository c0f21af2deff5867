"""Results store: rows (CSV) and summary.json per run, in a folder keyed by the config hash.

Every file is written atomically (temporary file, then rename), so an
interrupted run leaves only whole files. The unit of resumable work is one
seed: finished seeds are kept in `parts/` and skipped on the next call.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from . import _rows
from ._config import config_hash, to_dict


class RunStore:
    """The folder `root/<name>-<hash>` of one experiment configuration, holding rows of type `row_type`."""

    def __init__(self, root: str | os.PathLike, name: str, cfg, row_type: type):
        self.path = Path(root) / f"{name}-{config_hash(cfg)}"
        self.config = to_dict(cfg)
        self.row_type = row_type

    @property
    def rows_path(self) -> Path:
        return self.path / "rows.csv"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    def finished(self) -> bool:
        return self.summary_path.exists() and self.rows_path.exists()

    def prepare(self, force: bool = False) -> None:
        """Create the folder (writable check), drop stale temporaries; with force, start afresh."""
        if force and self.path.exists():
            shutil.rmtree(self.path)
        try:
            (self.path / "parts").mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise ValueError(f"results folder {self.path} is not writable: {err.strerror}") from None
        for stale in self.path.rglob(".tmp-*"):
            stale.unlink()
        write_json(self.path / "config.json", self.config)

    def part_path(self, seed: int) -> Path:
        return self.path / "parts" / f"seed-{seed}.csv"

    def has_part(self, seed: int) -> bool:
        return self.part_path(seed).exists()

    def save_part(self, seed: int, rows: list) -> None:
        write_rows(self.part_path(seed), rows, self.row_type)

    def load_part(self, seed: int) -> list:
        return read_rows(self.part_path(seed), self.row_type)

    def finish(self, rows: list, summary: dict) -> None:
        write_rows(self.rows_path, rows, self.row_type)
        write_json(self.summary_path, summary)

    def load(self) -> tuple[list, dict]:
        return read_rows(self.rows_path, self.row_type), loads(self.summary_path.read_text())


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Strict JSON has no NaN or infinity; a non-finite float (an infinite γ(Δ), an undefined
#: ratio) is written as one of these strings and read back as the float.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def write_json(path: Path, obj) -> None:
    _atomic_write(Path(path), lambda fh: fh.write(dumps(obj)))


def dumps(obj) -> str:
    """Strict JSON text (sorted keys), non-finite floats written as "NaN", "Infinity", "-Infinity"."""
    return json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def loads(text: str):
    """Inverse of `dumps`."""
    return _decode(json.loads(text))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    return obj


def _decode(obj):
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, str) and obj in NONFINITE:
        return NONFINITE[obj]
    return obj


def write_rows(path: Path, rows: list, row_type: type) -> None:
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    names = list(_rows.fields(row_type))

    def write(fh):
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in rows:
            w.writerow(_rows.to_cells(r))

    _atomic_write(Path(path), write)


def read_rows(path: Path, row_type: type) -> list:
    types = _rows.fields(row_type)
    with open(path, newline="") as fh:
        return [_rows.from_cells(row_type, cells, types) for cells in csv.DictReader(fh)]
