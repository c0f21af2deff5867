"""Files written atomically, with one mode, and only where they may be: what every layer that writes (results,
figures, tables, pages) shares.

Every file the package writes for a user (a page, a figure, a table) carries a mark of its kind (`MARKS`), so a
later run can tell its own file from anyone else's: `check_output_file` lets a command write a new file or
replace one that carries the mark, and refuses everything else (a user's notes at that path, a folder, a link, a
device, a FIFO) with one clear line, before any work is done.
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)
#: Mode of every file the package writes: rw-r--r-- less the umask (mkstemp's 0600 is for secrets).
FILE_MODE = 0o666 & ~_UMASK
#: This host's name as it appears in temporary files (`.tmp-<host>-<pid>-…`), so stale ones can be told apart.
HOST = socket.gethostname().replace("-", "_") or "host"


def atomic_write(path: Path, write: Callable, binary: bool = False) -> None:
    """Write `path` through `write(fh)` into a temporary file beside it, then rename (mode `FILE_MODE`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{HOST}-{os.getpid()}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", newline=None if binary else "") as fh:
            write(fh)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text))


#: The mark each kind of file carries when this package wrote it (by suffix): an HTML page's generator tag, a PNG's
#: Software text chunk, a PDF's Creator entry. They are constant, so a rerun stays byte-identical.
MARK = "natural-tasks"
MARKS = {
    ".html": f'<meta name="generator" content="{MARK}">'.encode(),
    ".png": b"tEXtSoftware\x00" + MARK.encode(),
    ".pdf": f"/Creator ({MARK})".encode(),
}
#: The PNG and PDF metadata that writes those marks (matplotlib's `savefig(metadata=...)`); nothing else, so no
#: version or date makes a rerun differ.
PNG_METADATA = {"Software": MARK}
PDF_METADATA = {"Creator": MARK, "Producer": None, "CreationDate": None}
#: A file larger than this is never read to look for a mark (and is never one of ours).
MAX_MARKED_BYTES = 64 * 2**20


def mark_html(page: str) -> str:
    """`page` with the package's generator tag first in its <head> (pages so marked may be replaced later)."""
    tag = MARKS[".html"].decode()
    head = page.find("<head>")
    if head < 0:
        raise ValueError("an HTML page to be marked must have a <head>")
    return page[: head + 6] + tag + page[head + 6 :]


def carries_mark(path: Path, mark: bytes) -> bool:
    """Whether the regular file `path` (not followed if it is a link) holds `mark` in its first `MAX_MARKED_BYTES`."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return False
        return mark in fh.read(MAX_MARKED_BYTES)


def check_output_file(path: str | os.PathLike, what: str, mark: bytes | None = None) -> Path:
    """The file `path` a command is about to write, checked before any work (never writes or creates anything).

    Allowed: a path where nothing is, or a regular file this package wrote before (it carries `mark`, by default
    the mark of the path's suffix in `MARKS`). Refused: an empty path, a folder, a symbolic link, a device, a FIFO
    or a socket, and a file that does not carry the mark (someone else's, never replaced).

    Raises:
      ValueError: one line naming `what`, the path and why.
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise ValueError(f"{what}: the path is empty; name a file")
    target = Path(text)
    if target.name in ("", ".", "..") or str(text).endswith(os.sep):
        raise ValueError(f"{what}: {text} names a folder, not a file")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except NotADirectoryError:
        raise ValueError(f"{what}: {text} lies under a file, not a folder") from None
    except OSError as err:
        raise ValueError(f"{what}: cannot look at {text}: {err.strerror}") from None
    kind = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
            else None if stat.S_ISREG(st.st_mode) else "a device, FIFO or socket")  # fmt: skip
    if kind:
        raise ValueError(f"{what}: {text} is {kind}; name a new file (nothing is written over it)")
    mark = mark if mark is not None else MARKS.get(target.suffix.lower())
    if mark is None or not carries_mark(target, mark):
        raise ValueError(f"{what}: {text} exists and was not written by natural-tasks, so it is left as it is; "
                         "name a new file, or move that one away")  # fmt: skip
    return target


#: The most a stored JSON file (a summary, a config, a manifest) is read; a larger one is not one the store wrote.
MAX_JSON_BYTES = 16 * 2**20


def read_regular(path: str | os.PathLike, limit: int = MAX_JSON_BYTES) -> str | None:
    """The text of `path` if it is a regular file (a symbolic link is not followed; a FIFO or device is never
    opened for reading, so nothing hangs) of at most `limit` bytes in UTF-8; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        data = fh.read(limit + 1)
    if len(data) > limit:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


#: Characters that make a terminal act (escape sequences, bell, backspace, carriage return, C1 controls): never
#: printed from a results folder.
_CONTROL = {c for c in range(32) if c not in (9, 10)} | {127} | set(range(128, 160))


def printable(text: str) -> str:
    """`text` with every control character (ESC, BEL, CR, C1, …; not tab or newline) shown as \\xNN, so that a
    string read from a results folder cannot drive the terminal it is printed on."""
    return "".join(f"\\x{ord(ch):02x}" if ord(ch) in _CONTROL else ch for ch in str(text))
