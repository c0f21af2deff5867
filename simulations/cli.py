"""The `natural-tasks` command line: a thin layer over importable functions.

Bad input (unknown experiment, malformed or out-of-range --set, negative ε,
unwritable folder) exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

PROFILES = ("tiny", "quick", "standard")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2 (argparse's own convention)
        self.exit(2, f"natural-tasks: error: {message}\n")


def _nonneg_float(text: str) -> float:
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(val) or val < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return val


def _pos_float(text: str) -> float:
    val = _nonneg_float(text)
    if val == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return val


def _seed(text: str) -> int:
    try:
        val = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= val < 2**31:
        raise argparse.ArgumentTypeError(f"seed must be in [0, 2^31), got {val}")
    return val


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="natural-tasks",
        description="Exact simulations of arXiv:2010.03648 (natural tasks, √ε bounds).",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("reproduce", help="run every registered experiment and redraw its figures")
    r.add_argument("--profile", choices=PROFILES, default="standard", help="config sizes (default: standard)")
    r.add_argument("--only", nargs="+", metavar="NAME", default=None, help="run only these experiments")
    r.add_argument("--results", default="results", help="results folder (default: results)")
    r.add_argument("--figures", default="figures", help="figures folder (default: figures)")
    r.add_argument("--force", action="store_true", help="recompute even if finished results exist")
    r.add_argument("--no-progress", action="store_true", help="hide progress bars")

    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name", help="experiment name (see `list`)")
    run.add_argument("--profile", choices=PROFILES, default="quick", help="config sizes (default: quick)")
    run.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="run this single seed instead of the profile's seeds",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. world.vocab_size=500",
    )
    run.add_argument("--results", default="results", help="results folder (default: results)")
    run.add_argument("--figures", default=None, help="also draw the figure into this folder")
    run.add_argument("--force", action="store_true", help="recompute even if finished results exist")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")

    sub.add_parser("list", help="list the registered experiments")

    b = sub.add_parser("bound", help="print the natural-task bound τ + √(2B²ε/γ) and its parts")
    b.add_argument("--tau", type=_nonneg_float, required=True, help="τ, loss of a feasible probe on P* (>= 0)")
    b.add_argument("--B", type=_pos_float, required=True, help="ℓ∞ bound on the probe weights (> 0)")
    b.add_argument("--eps", type=_nonneg_float, required=True, help="ε, the LM's excess cross-entropy (>= 0)")
    b.add_argument("--gamma", type=_pos_float, default=1.0, help="transferability γ in (0, ∞) (default 1)")
    return p


def _claims_table(results: list[tuple[str, dict]]) -> str:
    lines = [f"{'experiment':<16} {'claim id':<26} {'verdict':<7} statement  —  measured"]
    for name, summary in results:
        for c in summary["claims"]:
            lines.append(f"{name:<16} {c['id']:<26} {c['verdict']:<7} {c['statement']}  —  {c['measured']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ValueError as err:
        print(f"natural-tasks: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "natural-tasks: interrupted; finished seeds are kept and the next call resumes",
            file=sys.stderr,
        )
        return 130


def _dispatch(args) -> int:
    # Imported where needed: `bound` needs only theory (no JAX), `list` no matplotlib.
    if args.command == "list":
        from .experiments import experiment_names, get_experiment

        for name in experiment_names():
            exp = get_experiment(name)
            print(f"{name:<16} {exp.title}  (profiles: {', '.join(exp.profiles)})")
        return 0
    if args.command == "bound":
        import theory

        part = theory.natural_task_bound(0.0, args.B, args.eps, args.gamma)
        total = theory.natural_task_bound(args.tau, args.B, args.eps, args.gamma)
        print(f"tau                 = {args.tau:.6g}")
        print(f"sqrt(2 B^2 eps/gam) = {part:.6g}   (B={args.B:g}, eps={args.eps:g}, gamma={args.gamma:g})")
        print(f"bound               = {theory.natural_task_bound(args.tau, args.B, args.eps, args.gamma):.6g}")
        print(f"as 0-1 error bound  = {total / math.log(2):.6g}")
        return 0
    from . import _runner
    from .experiments import experiment_names

    if args.command == "run":
        cfg = _runner.make_config(args.name, args.profile, args.seed, args.set)
        rows, summary, store = _runner.run_experiment(args.name, cfg, args.results, args.force, not args.no_progress)
        print(f"results: {store.path}")
        if args.figures:
            for path in _runner.draw(args.name, rows, summary, args.figures):
                print(f"figure: {path}")
        print(_claims_table([(args.name, summary)]))
        return 0
    # reproduce
    names = args.only or experiment_names()
    for name in names:
        _runner.get_experiment(name)  # unknown names fail before any work
    _check_writable(Path(args.figures))
    done = []
    for name in names:
        cfg = _runner.make_config(name, args.profile)
        rows, summary, store = _runner.run_experiment(name, cfg, args.results, args.force, not args.no_progress)
        paths = _runner.draw(name, rows, summary, args.figures)
        print(f"{name}: {summary['n_rows']} rows in {store.path}; figures {', '.join(map(str, paths))}")
        done.append((name, summary))
    print()
    print(_claims_table(done))
    return 0


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"figures folder {folder} is not writable: {err.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
