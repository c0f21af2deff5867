"""(SEQ) The sequence world's exact pass, timed side by side in one run (part of `make bench`).

1. The forward pass alone (log p*(w_t | w_<t) and the predictive state of every prefix) against hmmlearn's
   fastest `score` (CategoricalHMM, implementation="scaling", one document at a time in compiled code) on the
   same documents: tokens per second and their ratio (target: ours >= 10x).
2. The full pass, p*(·|s) for every prefix (forward, then b·E a few documents at a time) with one reduction
   (its entropy), against the floor of its own products measured beside it: the block products b·A of every
   step and the products b·E of every prefix, on arrays of the same shapes (target: the full pass within 2x
   of that floor), at the target size M = 4,096 documents of L = 128 tokens, C·S = 64 states, V = 2,000
   (target: under 20 s on one thread).
3. The sequence LMs: the transformer's train step in model FLOPs against the float32 matmul rate of the
   machine measured beside it, and the evaluation of a population of prefixes in tokens per second.
"""

from __future__ import annotations

import numpy as np
from timing import best_of  # beside this script

import simulations as sim
from simulations.worlds import entropies


def sequence_pass(documents: int = 4096, length: int = 128, vocab: int = 2000, repeats: int = 3) -> None:
    from hmmlearn.hmm import CategoricalHMM

    cfg = sim.SequenceConfig(vocab_size=vocab, concepts=4, states=12, length=length, documents=documents)
    world = sim.make_sequence_world(sim.streams(0)["world"], cfg)
    hmm = world.hmm
    C, S = hmm.init.shape
    tokens, _ = sim.sample_documents(np.random.default_rng(0), hmm, documents, length)
    print(f"(SEQ) sequence world: C·S = {C}·{S} = {C * S} states, V = {vocab}, documents of {length} tokens")

    # 1. the forward pass against hmmlearn, on the 256 documents
    few = tokens[:256]
    pi, A, E = hmm.dense()
    ref = CategoricalHMM(n_components=C * S, implementation="scaling", init_params="", params="")
    ref.n_features = vocab
    ref.startprob_, ref.transmat_, ref.emissionprob_ = pi, A, E
    X, lengths = few.reshape(-1, 1), [length] * few.shape[0]
    t_ref = best_of(lambda: ref.score(X, lengths), repeats)
    t_few = best_of(lambda: sim.forward(hmm, few), repeats)
    ours = sim.forward(hmm, few).log_lik.sum()
    agree = abs(ours - ref.score(X, lengths)) / abs(ours)
    n_few = few.size
    print(f"  forward, {few.shape[0]} documents: hmmlearn scaling {n_few / t_ref / 1e6:.3f} M tokens/s, ours "
          f"{n_few / t_few / 1e6:.2f} M tokens/s: {t_ref / t_few:.1f}x (target >= 10x); log-likelihoods agree to "
          f"{agree:.1e} relative")  # fmt: skip
    t_all = best_of(lambda: sim.forward(hmm, tokens), repeats)
    print(f"  forward, {documents} documents: ours {tokens.size / t_all / 1e6:.2f} M tokens/s")

    # 2. the full pass against the floor of its own products
    def full(reduce: bool) -> None:
        filt = sim.forward(hmm, tokens)
        for t in range(length):  # every prefix, a slab of M documents at a time, chunked inside
            b = filt.pred[:, t]
            if reduce:
                entropies(hmm, b)
            else:
                for rows in sim.row_chunks(documents, 1024):
                    sim.next_token_probs(hmm, b[rows])

    b_steps = np.full((C, documents, S), 1.0 / (C * S))
    b_rows = np.full((1024, C * S), 1.0 / (C * S))
    E_flat = hmm.emit.reshape(C * S, vocab)

    def floor() -> None:
        for _ in range(length):
            np.matmul(b_steps, hmm.trans)  # b·A, block by block
            for _ in range(documents // 1024):
                b_rows @ E_flat  # b·E

    t_floor = best_of(floor, repeats)
    t_probs = best_of(lambda: full(False), repeats)
    t_full = best_of(lambda: full(True), 1)
    n = documents * length
    print(f"  p* of all {n:,} prefixes (forward + b·E): {t_probs:.2f} s, {t_probs / t_floor:.2f}x the floor of its "
          f"products ({t_floor:.2f} s; target <= 2x)")  # fmt: skip
    print(f"  with its entropy (one log per entry, float64): {t_full:.2f} s, {t_full / t_floor:.2f}x the floor "
          f"(target: the whole pass under 20 s on one thread)")  # fmt: skip


def transformer_step(repeats: int = 5, width: int = 64, layers: int = 2, vocab: int = 200, length: int = 36,
                     batch: int = 32) -> None:  # fmt: skip
    """The transformer's train step against the machine's float32 matmul rate measured beside it: model FLOPs per
    step (forward + backward ≈ 3 × forward) and the share of the matmul rate they reach; then the evaluation of
    a population (all prefixes of 512 documents) in tokens per second."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from simulations import models

    cfg = models.SequenceLMConfig(width=width, layers=layers, heads=4, steps=10, batch=batch, corpus=batch, warmup=1)
    model = models.init_sequence_lm(jax.random.key(0), cfg, vocab, length)
    optimizer = models.make_sequence_optimizer(cfg, model)
    state = optimizer.init(eqx.filter(model, eqx.is_array))
    tokens = jax.random.randint(jax.random.key(1), (batch, length), 0, vocab)
    step = eqx.filter_jit(models.train_step)
    jax.block_until_ready(step(model, state, tokens, optimizer)[2])
    t_step = best_of(lambda: jax.block_until_ready(step(model, state, tokens, optimizer)[2]), repeats)
    T = length - 1
    per_token = layers * (24 * width**2 + 4 * T * width) + 2 * width * vocab  # forward FLOPs of one prefix
    flops = 3 * batch * T * per_token
    n = 512
    a = jnp.ones((n, n), jnp.float32)
    mm = jax.jit(lambda x: x @ x)
    jax.block_until_ready(mm(a))
    t_mm = best_of(lambda: jax.block_until_ready(mm(a)), repeats)
    rate = 2 * n**3 / t_mm
    print(f"(SEQ) transformer train step (width {width}, {layers} layers, V = {vocab}, {batch} documents of {length} "
          f"tokens): {t_step * 1e3:.1f} ms, {flops / 1e9:.3f} GFLOP a step, {flops / t_step / 1e9:.2f} GFLOP/s = "
          f"{flops / t_step / rate:.0%} of the float32 matmul rate measured beside it ({rate / 1e9:.1f} GFLOP/s, "
          f"{n}³ products); {batch * T / t_step / 1e3:.0f} k tokens/s")  # fmt: skip
    docs = np.asarray(jax.random.randint(jax.random.key(2), (512, 32), 0, vocab))
    models.sequence_log_probs(model, docs[:64])
    t_eval = best_of(lambda: models.sequence_log_probs(model, docs), max(1, repeats // 2))
    print(f"  population evaluation (log q of every prefix, float64): {docs.size / t_eval / 1e3:.0f} k tokens/s")
