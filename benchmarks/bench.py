"""Side-by-side timings, measured in one run (never as timed unit tests).

1. (P2) The exact-objective train step, with its hand-written gradient and
   through autodiff, against a floor measured in the same run: its two
   matrix products plus one exp pass over N × V.
2. The probe fit (V-dim p_f features, ridge class) against scikit-learn's
   LogisticRegression on the same objective and data.

Usage: python benchmarks/bench.py [--vocab 2000 --contexts 4000 --dim 32 --repeats 5]
"""

from __future__ import annotations

import argparse
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
    args = ap.parse_args()
    keys = sim.streams(0)
    world = sim.make_world(
        keys["world"], sim.WorldConfig(vocab_size=args.vocab, num_contexts=args.contexts, dim=args.dim)
    )
    task = sim.make_task(keys["task"], world, sim.TaskConfig())
    N, d = world.theta.shape
    V = world.Phi.shape[1]
    print(f"device: {jax.devices()[0].device_kind}; N={N}, d={d} (incl. bias row), V={V}; threads {thread_settings()}")

    # 1. train step vs matmul roofline
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

    # 2. probe fit vs scikit-learn (ridge class on standardised p_f features)
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
    print(f"probe fit, V-dim features, ridge: ours {t_ours:.2f} s (certified: {fit.converged})")
    print(f"  scikit-learn lbfgs on the same objective: {t_skl:.2f} s")
    print(f"  ratio ours / scikit-learn: {t_ours / t_skl:.2f};  loss difference {fit.loss - loss_skl:+.2e}")
    t_box = best_of(lambda: sim.fit_probe(g, p_T, eta, box=task.B, init=(task.v, task.b)), max(1, args.repeats // 2))
    print(f"probe fit, V-dim features, box (theorem's class; scikit-learn has no box constraint): {t_box:.2f} s")


if __name__ == "__main__":
    main()
