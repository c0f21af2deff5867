"""Results store: one folder per experiment configuration, safe under Ctrl-C, kills and concurrent processes.

Layout of `root/<name>-<config hash>/`::

    config.json         the full config
    current             the name of the generation in use (written atomically)
    pending             the name of a generation being computed (a first run, or a --force run)
    gen-<k>/parts/      seed-<s>.csv (the rows of one seed) and seed-<s>.json (its manifest:
                        row count, columns, SHA-256, seconds, thread settings); seed-<s>/ the seed's
                        files, for an experiment that keeps some (model checkpoints)
    rows.csv            every seed's rows, rebuilt from the parts whenever it differs
    summary.json        recomputed from the rows (strict JSON)

Every file is written atomically (a temporary file named after this host and
process, then a rename), with mode 0644 (less the umask). A seed is the unit
of work: its part is computed under a per-seed lock, so two processes on one
folder share the seeds instead of both computing them; folder-level changes
(choosing, finishing or discarding a generation) happen under a folder lock
(`fcntl.flock`). A --force run computes a new generation beside the one in
use and replaces it only when it is complete, so an interruption never loses
finished results. A damaged part is reported by name; a damaged rows.csv or
summary.json is rebuilt from the parts.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import math
import os
import re
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import FILE_MODE, HOST, MAX_JSON_BYTES, read_regular, write_text
from ..experiments.kit import from_cells, row_fields, to_cells
from ._config import config_hash, to_dict

if TYPE_CHECKING:
    from ..experiments import RunConfig


#: A run folder's name: `<experiment>-<config hash>` (the first 12 hex digits of the config's SHA-256).
RUN_FOLDER = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)-(?P<hash>[0-9a-f]{12})$")
#: What makes a folder so named a run folder: one of the files the store writes there (or a generation).
STORE_FILES = ("config.json", "current", "pending", "summary.json", "rows.csv")


def is_run_folder(path: Path) -> bool:
    """Whether `path` is the folder of one stored run (named `<experiment>-<hash>`, holding the store's files)."""
    path = Path(path)
    if not RUN_FOLDER.match(path.name) or not path.is_dir():
        return False
    return any((path / name).exists() for name in STORE_FILES) or any(path.glob("gen-*"))


def results_folder_of(path: str | os.PathLike) -> Path | None:
    """The results folder `path` would lie in, or None: the nearest folder above it that is a run folder, or
    that holds one (the root of a results folder). Nothing is written there but by the store."""
    here = Path(os.path.abspath(path)).parent
    for folder in (here, *here.parents):
        try:
            if is_run_folder(folder) or any(is_run_folder(child) for child in folder.iterdir()):
                return folder
        except OSError:  # an unreadable folder holds no results we could damage through this path
            continue
    return None


class CorruptResults(ValueError):
    """A stored part does not match its manifest (truncated, edited, or half-written by other means)."""


class RunStore:
    """The folder `root/<name>-<hash>` of one experiment configuration, holding rows of type `row_type`."""

    def __init__(self, root: str | os.PathLike, name: str, cfg: RunConfig, row_type: type) -> None:
        self.path = Path(root) / f"{name}-{config_hash(cfg)}"
        self.config = to_dict(cfg)
        self.row_type = row_type
        self.columns = list(row_fields(row_type))

    # -- paths ---------------------------------------------------------------------------------
    @property
    def rows_path(self) -> Path:
        return self.path / "rows.csv"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    def part_path(self, gen: str, seed: int) -> Path:
        return self.path / gen / "parts" / f"seed-{seed}.csv"

    def files_path(self, gen: str, seed: int) -> Path:
        """The folder of one seed's files beside its rows (`Experiment.stores_files`: model checkpoints)."""
        return self.path / gen / "parts" / f"seed-{seed}"

    def _manifest_path(self, gen: str, seed: int) -> Path:
        return self.part_path(gen, seed).with_suffix(".json")

    # -- locks ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def folder_lock(self) -> Iterator[None]:
        """Exclusive lock on the folder for short changes (choose, finish, discard a generation)."""
        with _flock(self.path / ".lock", blocking=True):
            yield

    @contextlib.contextmanager
    def seed_lock(self, gen: str, seed: int, blocking: bool) -> Iterator[bool]:
        """Exclusive lock on one seed of a generation; yields whether it was acquired."""
        path = self.path / gen / "parts" / f".seed-{seed}.lock"
        with _flock(path, blocking=blocking) as got:
            yield got

    # -- generations ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the folder (checked writable) and drop temporaries of dead processes of this host."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{HOST}-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise ValueError(f"results folder {self.path} is not writable: {err.strerror}") from None
        with self.folder_lock():
            for stale in self.path.rglob(f".tmp-{HOST}-*"):
                pid = stale.name.split("-")[2]
                if pid.isdigit() and not _alive(int(pid)):
                    stale.unlink(missing_ok=True)
            if not (self.path / "config.json").exists():
                write_text(self.path / "config.json", dumps(self.config))

    def current(self, tolerate_damage: bool = False) -> str | None:
        """The generation in use (complete when it was set), or None when there is none yet (or, with
        `tolerate_damage`, when its pointer is damaged: a --force run replaces it).

        Raises:
          CorruptResults: the `current` file exists but names no generation (a damaged pointer would otherwise
            make the next run compute everything again and discard the generation it pointed to).
        """
        path = self.path / "current"
        name = _read_name(path)
        if name is None and path.exists() and not tolerate_damage:
            gens = sorted(p.name for p in self.path.glob("gen-*") if p.is_dir())
            hint = f"echo {gens[-1]} > {path}" if gens else f"rm {path}"
            raise CorruptResults(
                f"results folder {self.path}: its pointer {path.name} is damaged (it names no generation; "
                f"generations here: {', '.join(gens) or 'none'}); restore it (e.g. `{hint}`) or rerun with --force"
            )
        if name is not None and not (self.path / name).is_dir() and not tolerate_damage:
            raise CorruptResults(f"results folder {self.path}: {path.name} names {name}, which is missing")
        return name

    def generation(self, force: bool) -> str:
        """The generation to read or compute into (call under `folder_lock`).

        Without force: the one in use if any, else the pending one (an
        interrupted first run resumes), else a new pending one. With force: the
        pending one (an interrupted --force run resumes) or a new one, never
        the one in use (a damaged pointer to it is then replaced when the new one is complete).
        """
        current = self.current(tolerate_damage=force)
        pending = _read_name(self.path / "pending")
        if current is not None and not force:
            return current
        if pending is not None and pending != current:
            return pending
        taken = {int(p.name[4:]) for p in self.path.glob("gen-*") if p.name[4:].isdigit()}
        gen = f"gen-{max(taken, default=0) + 1}"
        (self.path / gen / "parts").mkdir(parents=True, exist_ok=True)
        write_text(self.path / "pending", gen + "\n")
        return gen

    def complete(self, gen: str, seeds: Collection[int]) -> None:
        """Make `gen` the generation in use and discard the others (call under `folder_lock`)."""
        write_text(self.path / "current", gen + "\n")
        if _read_name(self.path / "pending") == gen:
            (self.path / "pending").unlink(missing_ok=True)
        pending = _read_name(self.path / "pending")
        for other in self.path.glob("gen-*"):
            if other.name not in (gen, pending):
                shutil.rmtree(other, ignore_errors=True)

    def discard_if_empty(self, gen: str, seeds: Collection[int]) -> bool:
        """After a failed first run: remove the folder if it holds no finished part (call under `folder_lock`).

        Skipped while another process holds a seed lock of this generation.
        """
        if (self.path / "current").exists() or any(self.has_part(gen, s) for s in seeds):
            return False
        with contextlib.ExitStack() as stack:
            if not all(stack.enter_context(self.seed_lock(gen, s, blocking=False)) for s in seeds):
                return False
            shutil.rmtree(self.path / gen, ignore_errors=True)
        (self.path / "pending").unlink(missing_ok=True)
        if not any(p.name.startswith("gen-") for p in self.path.iterdir()):
            for name in ("config.json", "rows.csv", "summary.json", ".lock"):
                (self.path / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.path.rmdir()
                return True
        return False

    # -- parts ---------------------------------------------------------------------------------
    def has_part(self, gen: str, seed: int) -> bool:
        return self._manifest_path(gen, seed).exists() and self.part_path(gen, seed).exists()

    def save_part(self, gen: str, seed: int, rows: list, info: dict) -> None:
        """Write one seed's rows, then its manifest (the part counts as finished once both exist). The manifest
        names the config (its hash), the seed, and every file beside the rows (model checkpoints) with its
        SHA-256, so a file replaced, truncated or copied from elsewhere is seen (`check_files`)."""
        text = rows_text(rows, self.columns)
        write_text(self.part_path(gen, seed), text)
        folder = self.files_path(gen, seed)
        files = {f.name: _file_sha256(f) for f in sorted(folder.iterdir()) if f.is_file()} if folder.is_dir() else {}
        manifest = dict(rows=len(rows), columns=self.columns, sha256=_sha256(text), config=self.path.name, seed=seed,
                        files=files, **info)  # fmt: skip
        write_text(self._manifest_path(gen, seed), dumps(manifest))

    def check_files(self, gen: str, seed: int) -> str:
        """The first problem with the files beside one seed's rows ("" if none): a file its manifest names that is
        missing, not a regular file, or whose SHA-256 differs (truncated, edited, another model's or another step's
        checkpoint copied over it), or a manifest of another config or seed."""
        try:
            manifest = loads(_read(self._manifest_path(gen, seed)))
        except (OSError, ValueError) as err:
            return f"{self._manifest_path(gen, seed)}: {err}"
        if not isinstance(manifest, dict):
            return f"{self._manifest_path(gen, seed)} is not a manifest"
        if manifest.get("config", self.path.name) != self.path.name or manifest.get("seed", seed) != seed:
            return f"{self._manifest_path(gen, seed)} belongs to {manifest.get('config')}, seed {manifest.get('seed')}"
        folder = self.files_path(gen, seed)
        for name, digest in (manifest.get("files") or {}).items():
            path = folder / str(name)
            if path.is_symlink() or not path.is_file():
                return f"{path} is missing or not a regular file"
            if _file_sha256(path) != digest:
                return f"{path} is not the file this run wrote (its SHA-256 differs)"
        return ""

    def load_part(self, gen: str, seed: int) -> tuple[list, dict]:
        """(rows, manifest) of one seed, checked against its manifest; `CorruptResults` names the file."""
        path = self.part_path(gen, seed)
        try:
            manifest = loads(_read(self._manifest_path(gen, seed)))
            text = _read(path, MAX_PART_BYTES)
            if not isinstance(manifest, dict) or manifest.get("sha256") != _sha256(text):
                raise CorruptResults(f"does not match its manifest (expected {manifest.get('rows')} rows)")
            stale = manifest.get("columns") != self.columns
            rows = [] if stale else parse_rows(text, self.row_type, self.columns)
        except (ValueError, OSError, AttributeError) as err:
            raise CorruptResults(
                f"results part {path} is damaged ({err}); rerun with --force to recompute it"
            ) from None
        if not stale and (problem := self.check_files(gen, seed)):
            raise CorruptResults(f"results part {path} is damaged ({problem}); rerun with --force to recompute it")
        if stale:
            differ = ", ".join(sorted(set(manifest.get("columns") or ()) ^ set(self.columns)))
            raise CorruptResults(
                f"results part {path} was written by another version of natural-tasks (its columns differ in "
                f"{differ}); rerun with --force to recompute it"
            )
        return rows, manifest

    # -- derived files ---------------------------------------------------------------------------
    def write_derived(self, rows: list, summary: dict) -> list[str]:
        """Rewrite rows.csv and summary.json where they differ from what the parts give; returns what was rebuilt."""
        rebuilt = []
        for path, text in ((self.rows_path, rows_text(rows, self.columns)), (self.summary_path, dumps(summary))):
            same = read_regular(path, MAX_PART_BYTES) == text  # (never opens a FIFO or follows a link)
            if not same:
                rebuilt.append(path.name)
                write_text(path, text)
        return rebuilt


@contextlib.contextmanager
def _flock(path: Path, blocking: bool) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_name(path: Path) -> str | None:
    name = (read_regular(path, 256) or "").strip()
    return name if name.startswith("gen-") and name[4:].isdigit() else None


#: The largest results part (rows of one seed) the store reads.
MAX_PART_BYTES = 2**32


def _read(path: Path, limit: int = MAX_JSON_BYTES) -> str:
    """The text of a file the store wrote; OSError naming it when it is not a regular file of at most `limit`
    bytes in UTF-8 (a link, a FIFO, a device, a file grown past what the store writes)."""
    text = read_regular(path, limit)
    if text is None:
        raise OSError(f"{Path(path).name} is not a regular UTF-8 file of at most {limit:,} bytes")
    return text


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Strict JSON has no NaN or infinity; a non-finite float (an infinite γ(Δ), an undefined
#: ratio) is written as one of these strings and read back as the float.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(obj: Any) -> str:
    """Strict JSON text (sorted keys), non-finite floats written as "NaN", "Infinity", "-Infinity"."""
    return json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def loads(text: str) -> Any:
    """Inverse of `dumps`; strict: the bare NaN and Infinity of lax JSON are refused (ValueError), as `dumps` never
    writes them (non-finite floats are the strings "NaN", "Infinity", "-Infinity")."""
    return _decode(json.loads(text, parse_constant=_refuse_constant))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, str) and obj in NONFINITE:
        return NONFINITE[obj]
    return obj


def rows_text(rows: list, columns: list[str]) -> str:
    """CSV text of rows (header = the schema's columns)."""
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    types = row_fields(type(rows[0])) if rows else {}
    for r in rows:
        w.writerow(to_cells(r, types))
    return buf.getvalue()


def parse_rows(text: str, row_type: type, columns: list[str]) -> list:
    """Rows from CSV text; ValueError names the line and column of the first bad cell."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames != columns:
        raise ValueError(f"header {reader.fieldnames} is not the schema's {columns}")
    types, out = row_fields(row_type), []
    for line, cells in enumerate(reader, start=2):
        if None in cells or any(v is None for v in cells.values()):
            raise ValueError(f"line {line} has {len(cells)} cells, expected {len(columns)}")
        try:
            out.append(from_cells(row_type, cells, types))
        except ValueError as err:
            raise ValueError(f"line {line}: {err}") from None
    return out


def read_rows(path: Path, row_type: type) -> list:
    """The rows of a rows.csv (for users and tests; the store itself reads the checked parts)."""
    return parse_rows(Path(path).read_text(), row_type, list(row_fields(row_type)))
