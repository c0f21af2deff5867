"""Side-by-side timings, measured in one run (never as timed unit tests).

(P2) The exact-objective train step, with its hand-written gradient and
     through autodiff, against a floor measured in the same run: its two
     matrix products plus one exp pass over N × V.
(P3) The probe fit (V-dim p_f features, ridge class) against scikit-learn's
     LogisticRegression on the same objective and data.
(P5) A population of LMs trained together (vmap over parameters, one
     fori_loop over steps) against the same LMs trained one after another.
(P6) Sweep throughput: one grid of (point, seed) tasks on a Dask LocalCluster
     of 1 and of 2 worker processes.
(scaling) Time and peak memory of one measurement's parts (the world, an
     LM at one ε, the exact train step, the box probe on p_f) against V and
     against N, on log-log axes: build/bench/scaling.png and .csv.

Usage: python benchmarks/bench.py [--parts P2,P3,P5,P6,scaling] [--vocab 2000 --contexts 4000 --dim 32 --repeats 5]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

from simulations._threads import limit_threads, thread_settings

if __name__ == "__main__":  # before JAX starts: XLA reads its thread flags once
    limit_threads(int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import simulations as sim  # noqa: E402
from simulations._train import make_optimizer, run_steps  # noqa: E402


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--contexts", type=int, default=4000)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="BLAS and XLA threads (default 1)")
    ap.add_argument("--parts", default="P2,P3,P5,P6,scaling", help="which comparisons to run (default all)")
    ap.add_argument("--members", type=int, default=32, help="P5: LMs in the population (default 32)")
    ap.add_argument("--p5-large", action="store_true", help="P5: also a world of N·d·V = 2.6e8 (for accelerators)")
    args = ap.parse_args()
    parts = set(args.parts.upper().split(","))
    if parts & {"P2", "P3"}:
        step_and_probe(args, parts)
    if "P5" in parts:
        population(args.members, POPULATION_WORLDS + (POPULATION_LARGE if args.p5_large else []))
    if "P6" in parts:
        sweep_workers()
    if "SCALING" in parts:
        scaling()


def step_and_probe(args, parts) -> None:
    keys = sim.streams(0)
    world = sim.make_world(
        keys["world"], sim.WorldConfig(vocab_size=args.vocab, num_contexts=args.contexts, dim=args.dim)
    )
    task = sim.make_task(keys["task"], world, sim.TaskConfig())
    N, d = world.theta.shape
    V = world.Phi.shape[1]
    print(f"device: {jax.devices()[0].device_kind}; N={N}, d={d} (incl. bias row), V={V}; threads {thread_settings()}")

    if "P2" in parts:
        train_step(args, keys, world)
    if "P3" in parts:
        probe(args, world, task)


def train_step(args, keys, world) -> None:
    N, d = world.theta.shape
    V = world.Phi.shape[1]
    cfg = sim.TrainConfig()
    params = sim.init_lm(keys["init"], world, cfg)
    state = make_optimizer(cfg).init(params)
    data = (jnp.asarray(world.p_star, jnp.float32), jnp.asarray(world.p_L, jnp.float32))

    def step(objective):
        return jax.block_until_ready(run_steps(params, state, 0, 1, data, cfg=cfg, objective=objective))

    step("exact")
    step("exact_autodiff")
    t_step = best_of(lambda: step("exact"), args.repeats)
    t_auto = best_of(lambda: step("exact_autodiff"), args.repeats)
    F = jnp.ones((N, d), jnp.float32)
    Phi = jnp.ones((d, V), jnp.float32)
    R = jnp.ones((N, V), jnp.float32)
    # the least a step must do: both products and one exp pass over the logits (reduced, so no N × V output)
    floor_fn = jax.jit(lambda F, Phi, R: (jnp.exp(F @ Phi).sum(axis=-1), R @ Phi.T))
    jax.block_until_ready(floor_fn(F, Phi, R))
    t_floor = best_of(lambda: jax.block_until_ready(floor_fn(F, Phi, R)), args.repeats)
    flops = 2 * (2 * N * d * V)  # logits F Φ and the gradient (Q − P*) Φᵀ
    print("(P2) train step, exact objective, Φ fixed (float32, one step of Adam included):")
    print(f"  hand-written gradient (custom VJP): {t_step * 1e3:8.2f} ms")
    print(f"  autodiff through log_softmax:       {t_auto * 1e3:8.2f} ms")
    print(f"  floor (FΦ, RΦᵀ and one exp over N × V, {flops / 1e9:.2f} GFLOP): {t_floor * 1e3:8.2f} ms")
    print(
        f"  ratio step / floor: {t_step / t_floor:.2f} (target ≤ 1.5);  autodiff / hand-written: {t_auto / t_step:.2f}"
    )


def probe(args, world, task) -> None:
    N = world.theta.shape[0]
    g, p_T, eta = world.p_star, task.p_T, task.eta
    ridge = 1e-2
    ours = {}
    t_ours = best_of(lambda: ours.update(fit=sim.fit_probe(g, p_T, eta, l2=ridge)), max(1, args.repeats // 2))
    m = p_T @ g
    sd = np.sqrt(p_T @ g**2 - m**2)
    X = np.vstack([(g - m) / sd] * 2)
    y = np.r_[np.ones(N), np.zeros(N)]
    sw = np.r_[p_T * eta, p_T * (1 - eta)]
    clf = LogisticRegression(C=1 / ridge, solver="lbfgs", tol=1e-10, max_iter=10000)
    t_skl = best_of(lambda: clf.fit(X, y, sample_weight=sw), max(1, args.repeats // 2))
    v = clf.coef_[0] / sd
    bias = clf.intercept_[0] - m @ v
    z = g @ v + bias
    loss_skl = np.sum(p_T * (eta * np.logaddexp(0, -z) + (1 - eta) * np.logaddexp(0, z)))
    fit = ours["fit"]
    print(f"(P3) probe fit, V-dim features, ridge: ours {t_ours:.2f} s (certified: {fit.converged})")
    print(f"  scikit-learn lbfgs on the same objective: {t_skl:.2f} s")
    print(
        f"  speed-up over scikit-learn: {t_skl / t_ours:.2f}x (target >= 3);  "
        f"loss difference {fit.loss - loss_skl:+.2e}"
    )
    t_box = best_of(lambda: sim.fit_probe(g, p_T, eta, box=task.B, init=(task.v, task.b)), max(1, args.repeats // 2))
    print(f"probe fit, V-dim features, box (theorem's class; scikit-learn has no box constraint): {t_box:.2f} s")


#: P5's worlds: (name, V, N, d, steps); "quick" is the quick profile's world of sqrt_eps.
POPULATION_WORLDS = [("tiny", 30, 60, 3, 200), ("quick", 200, 400, 8, 200), ("tightness standard", 600, 1200, 16, 100)]


#: A world where one member's products fill a core (P5 --p5-large, to find where vmap stops paying on a GPU).
POPULATION_LARGE = [("large", 2000, 4000, 32, 50)]


def population(P: int, worlds) -> None:
    from simulations._train import POPULATION_MAX_WORK, population_pays, train_population

    keys = sim.streams(0)
    print(f"(P5) a population of {P} LMs (exact objective, 5 checkpoints) trained together (vmap) against a loop;")
    print(f"  auto-choice: vmap where N·d·V <= {POPULATION_MAX_WORK:,} on an accelerator, never on a CPU")
    for name, V, N, d, steps in worlds:
        world = sim.make_world(keys["world"], sim.WorldConfig(vocab_size=V, num_contexts=N, dim=d))
        cfg = sim.TrainConfig(steps=steps, checkpoints=5)
        k_init = [jax.random.fold_in(keys["init"], i) for i in range(P)]
        k_data = [keys["data"]] * P
        times = {}
        for vmap in (False, True):
            run = functools.partial(train_population, k_init, k_data, world, cfg, vmap=vmap)
            run()  # compile for these shapes
            times[vmap] = best_of(run, 2)
        work = world.theta.shape[0] * world.theta.shape[1] * V
        print(
            f"  {name:<19} V={V:<5} N={N:<5} d={d:<3} N·d·V={work:.1e}: loop {times[False]:.2f} s, "
            f"population {times[True]:.2f} s, speed-up {times[False] / times[True]:.2f}x (target >= 4 on the quick "
            f"world); auto-choice here: {'population' if population_pays(world, P) else 'loop'}"
        )


def sweep_workers() -> None:
    import shutil
    import tempfile

    from simulations import sweep

    grid = [("directions", ["8", "12"])]
    points = sweep.expand("random_errors", grid, "quick", seeds=(0, 1, 2, 3))
    n = sum(len(p.cfg.seeds) for p in points)
    times = {}
    for workers in (1, 2):
        folder = tempfile.mkdtemp(prefix="bench-sweep-")
        try:
            t = time.perf_counter()
            sweep.run_sweep("random_errors", points, folder, workers=workers, progress=False)
            times[workers] = time.perf_counter() - t
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"(P6) sweep of random_errors (quick profile, grid directions=8,12, seeds 0-3: {n} tasks) on a Dask")
    print("  LocalCluster of one-thread worker processes, cluster start and each worker's JAX start included:")
    print(
        f"  1 worker {times[1]:.1f} s, 2 workers {times[2]:.1f} s: speed-up {times[1] / times[2]:.2f}x (target >= 1.6)"
    )


#: The scaling grid: V at fixed N, and N at fixed V.
SCALING_V = [(V, 1000) for V in (250, 500, 1000, 2000, 4000, 8000)]
SCALING_N = [(1000, N) for N in (250, 500, 1000, 2000, 4000, 8000)]


def scaling() -> None:
    import csv
    import tracemalloc
    from pathlib import Path

    from simulations._plotting import finish_figure, new_figure
    from simulations._train import make_optimizer, run_steps

    keys = sim.streams(0)
    rows = []
    for V, N in SCALING_V + [s for s in SCALING_N if s not in SCALING_V]:
        tracemalloc.start()
        t = time.perf_counter()
        inst = sim.make_instance(0, sim.WorldConfig(vocab_size=V, num_contexts=N, dim=16), sim.TaskConfig())
        t_world = time.perf_counter() - t
        t = time.perf_counter()
        lm = sim.tilted_lms(inst, "adversarial", [1e-3])[0]
        t_lm = time.perf_counter() - t
        t = time.perf_counter()
        sim.fit_probe(lm.q, inst.task.p_T, inst.task.eta, box=inst.task.B, init=(inst.task.v, inst.task.b))
        t_probe = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        cfg = sim.TrainConfig()
        params = sim.init_lm(keys["init"], inst.world, cfg)
        state = make_optimizer(cfg).init(params)
        data = (jnp.asarray(inst.world.p_star, jnp.float32), jnp.asarray(inst.world.p_L, jnp.float32))
        step = functools.partial(run_steps, params, state, 0, 1, data, cfg=cfg, objective="exact")
        jax.block_until_ready(step())
        t_step = best_of(lambda f=step: jax.block_until_ready(f()), 3)
        rows.append(dict(V=V, N=N, world_s=t_world, lm_at_eps_s=t_lm, probe_s=t_probe, train_step_s=t_step,
                         numpy_peak_mb=peak / 2**20))  # fmt: skip
        print(f"  V={V:<5} N={N:<5} world {t_world:6.2f} s  LM at ε {t_lm:6.2f} s  box probe {t_probe:6.2f} s  "
              f"train step {t_step * 1e3:7.1f} ms  NumPy peak {peak / 2**20:7.0f} MiB", flush=True)  # fmt: skip
    out = Path("build/bench")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "scaling.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fig, axes = new_figure(3, width=4.2)
    parts = [("world_s", "world"), ("lm_at_eps_s", "LM at ε (tilt)"), ("probe_s", "box probe on p_f"),
             ("train_step_s", "exact train step")]  # fmt: skip
    slopes = {}
    for ax, (axis, fixed, grid) in zip(axes[0][:2], [("V", "N", SCALING_V), ("N", "V", SCALING_N)], strict=True):
        pts = sorted((r for r in rows if (r["V"], r["N"]) in grid), key=lambda r: r[axis])
        x = np.array([r[axis] for r in pts], dtype=float)
        for key, label in parts:
            y = np.array([r[key] for r in pts])
            slope = float(np.polyfit(np.log(x), np.log(y), 1)[0])
            slopes[axis, key] = slope
            ax.loglog(x, y, "o-", label=f"{label} (slope {slope:.2f})")
        ax.set_xlabel(f"{axis} ({fixed} = {pts[0][fixed]}, d = 16)")
        ax.set_ylabel("seconds")
        ax.set_title(f"time against {axis}")
        ax.legend(fontsize=7)
    ax = axes[0][2]
    nv = np.array([r["N"] * r["V"] for r in rows], dtype=float)
    mem = np.array([r["numpy_peak_mb"] for r in rows])
    per = float(np.median(mem * 2**20 / (8 * nv)))
    ax.loglog(nv, mem, "o", label=f"NumPy peak ≈ {per:.1f} float64 N × V arrays")
    ax.loglog(nv, 8 * nv / 2**20, "k--", label="one float64 N × V array")
    ax.set_xlabel("N · V")
    ax.set_ylabel("MiB")
    ax.set_title("peak NumPy memory (tracemalloc)")
    ax.legend(fontsize=7)
    from matplotlib.ticker import NullFormatter

    for ax in axes[0]:
        ax.xaxis.set_minor_formatter(NullFormatter())
    conditions = f"{jax.devices()[0].device_kind}, one BLAS/XLA thread" if jax.default_backend() == "cpu" else ""
    files = finish_figure(fig, f"scaling of one measurement's parts ({conditions or jax.devices()[0].device_kind})",
                          True, out / "scaling")  # fmt: skip
    print("(scaling) log-log slopes: " + ", ".join(f"{k} vs {a}: {v:.2f}" for (a, k), v in slopes.items()))
    print(f"  peak NumPy memory ≈ {per:.1f} float64 N × V arrays; figure {', '.join(map(str, files))}")


if __name__ == "__main__":
    main()
