"""How much memory a run may use: the smallest of free RAM, the cgroup's limit and the address-space limit.

A container or a Slurm job with `--mem` limits the process through its
cgroup (v1 or v2), and `ulimit -v` through RLIMIT_AS; free RAM says nothing
about either. Past any of them the process is killed without a word or an
allocation raises MemoryError, so the runner checks all three before it
allocates anything.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import NamedTuple

#: The source named by `address_space_limit`.
ADDRESS_SPACE = "the address-space limit (ulimit -v)"
#: A cgroup "limit" at or above this is no limit (v1 writes 2^63 rounded to a page).
_UNLIMITED = 2**60


class MemoryLimit(NamedTuple):
    """Bytes still available under one limit, and which limit it is (in words, for the error message)."""

    available: int
    source: str


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def meminfo_available(proc: Path = Path("/proc")) -> MemoryLimit | None:
    """MemAvailable from /proc/meminfo."""
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return MemoryLimit(int(line.split()[1]) * 1024, "free memory (MemAvailable)")
    except (OSError, ValueError, IndexError):
        pass
    return None


def cgroup_limits(proc: Path = Path("/proc"), root: Path = Path("/sys/fs/cgroup")) -> list[MemoryLimit]:
    """limit − usage of this process's memory cgroup and each of its ancestors (v2 memory.max/memory.current,
    v1 memory.limit_in_bytes/memory.usage_in_bytes); empty where no limit is set or none is visible."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2: one unified hierarchy
            base, names, version = root, ("memory.max", "memory.current"), "v2"
        elif "memory" in controllers.split(","):
            base, names, version = root / "memory", ("memory.limit_in_bytes", "memory.usage_in_bytes"), "v1"
        else:
            continue
        here = Path(path.lstrip("/"))
        for rel in [here, *here.parents]:  # the limits of every ancestor bind too
            folder = base / rel
            limit, usage = _read_int(folder / names[0]), _read_int(folder / names[1])
            if limit is not None and limit < _UNLIMITED:
                where = "/" + str(rel) if str(rel) != "." else "/"
                out.append(MemoryLimit(max(limit - (usage or 0), 0), f"the memory cgroup's limit ({version} {where})"))
    return out


def address_space_limit(proc: Path = Path("/proc")) -> MemoryLimit | None:
    """RLIMIT_AS (ulimit -v) less the address space this process already uses (VmSize)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        for line in (proc / "self" / "status").read_text().splitlines():
            if line.startswith("VmSize:"):
                used = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return MemoryLimit(max(soft - used, 0), ADDRESS_SPACE)


def memory_limits() -> list[MemoryLimit]:
    """Every limit that applies to this process now."""
    out = [m for m in (meminfo_available(), address_space_limit()) if m is not None] + cgroup_limits()
    if not out:  # no /proc: the free physical pages
        out.append(MemoryLimit(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free physical pages"))
    return out


def tightest_limit() -> MemoryLimit:
    """The limit with the least memory available."""
    return min(memory_limits(), key=lambda m: m.available)
