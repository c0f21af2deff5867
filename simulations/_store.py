"""Results store: rows (CSV) and summary.json per run, in a folder keyed by the config hash.

Every file is written atomically (temporary file, then rename), so an
interrupted run leaves only whole files. The unit of resumable work is one
seed: finished seeds are kept in `parts/` and skipped on the next call.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

from ._config import config_hash, to_dict


class RunStore:
    """The folder `root/<name>-<hash>` of one experiment configuration."""

    def __init__(self, root: str | os.PathLike, name: str, cfg):
        self.path = Path(root) / f"{name}-{config_hash(cfg)}"
        self.config = to_dict(cfg)

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

    def save_part(self, seed: int, rows: list[dict]) -> None:
        write_rows(self.part_path(seed), rows)

    def load_part(self, seed: int) -> list[dict]:
        return read_rows(self.part_path(seed))

    def finish(self, rows: list[dict], summary: dict) -> None:
        write_rows(self.rows_path, rows)
        write_json(self.summary_path, summary)

    def load(self) -> tuple[list[dict], dict]:
        return read_rows(self.rows_path), json.loads(self.summary_path.read_text())


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


def write_json(path: Path, obj) -> None:
    _atomic_write(
        Path(path),
        lambda fh: json.dump(_jsonable(obj), fh, indent=2, sort_keys=True, allow_nan=True),
    )


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        return obj.item()
    return obj


def write_rows(path: Path, rows: list[dict]) -> None:
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    fields = list(rows[0])

    def write(fh):
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r[k]) for k in fields})

    _atomic_write(Path(path), write)


def _fmt(x):
    if isinstance(x, float):
        return repr(x)
    if hasattr(x, "item"):
        return _fmt(x.item())
    return x


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _parse(text: str):
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
