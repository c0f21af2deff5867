"""A helper process of `natural-tasks reproduce --jobs N` and `run --jobs N`: it computes the same runs into the
same results folder, walking them in the opposite order, so that the processes share the work.

The results store makes this safe: each seed is computed under its own lock, a process takes the seeds no other
holds and reuses the parts the others finish (docs/design.md §3, "Results"). The helper writes no figure and
prints nothing; the command that started it collects every run, draws and reports. Started as
``python -m simulations.runs._helper --results DIR --threads N --profile P [--seed S] [--set K=V]... NAME...``.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path


def helper_command(names: Sequence[str], results: str | Path, threads: int, profile: str, seed: int | None,
                   sets: Sequence[str]) -> list[str]:  # fmt: skip
    """The command line of one helper for these runs."""
    cmd = [sys.executable, "-m", "simulations.runs._helper", "--results", str(results), "--threads", str(threads),
           "--profile", profile]  # fmt: skip
    if seed is not None:
        cmd += ["--seed", str(seed)]
    for s in sets:
        cmd += ["--set", s]
    return cmd + list(names)


@contextlib.contextmanager
def helpers(jobs: int, command: list[str]) -> Iterator[list[subprocess.Popen]]:
    """`jobs − 1` helper processes running `command` while the block runs; at its end they are waited for (their
    last runs are the caller's first, already finished), or stopped if the block raised."""
    procs = [subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(max(0, jobs - 1))]  # fmt: skip
    try:
        yield procs
    except BaseException:
        for p in procs:
            p.terminate()
        raise
    finally:
        for p in procs:
            p.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simulations.runs._helper")
    p.add_argument("--results", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--profile", required=True)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("names", nargs="+")
    args = p.parse_args(argv)
    from ..core import limit_threads

    limit_threads(args.threads)
    from ._runner import make_config, run_experiment

    for name in reversed(args.names):
        try:
            run_experiment(name, make_config(name, args.profile, args.seed, args.set), args.results, progress=False)
        except Exception:  # the command that started the helper computes what is left and reports the error
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
