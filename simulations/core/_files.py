"""Files written atomically, with one mode: what every layer that writes (results, figures, tables) shares."""

from __future__ import annotations

import os
import socket
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
