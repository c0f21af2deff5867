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


#: The train step as committed before the block-of-steps training (README, bench SEQ): 15.9 ms a step at width 64,
#: 2 layers, V = 200, 32 documents of 36 tokens, 51 GFLOP/s = 17% of the 512³ product rate then measured.
BEFORE = dict(ms=15.9, gflops=51.0, share=0.17)


def transformer_step(repeats: int = 5, width: int = 64, layers: int = 2, vocab: int = 200, length: int = 36,
                     batches: tuple[int, ...] = (32, 128)) -> None:  # fmt: skip
    """The transformer's train step, timed side by side: the architecture and one-call-per-step training of before
    (`legacy_lm`: Equinox's attention mapped over the documents, LayerNorm, GELU) against the current one
    (`simulations.models`: batched, RMSNorm, ReLU, `STEPS_PER_CALL` steps per compiled call), at the batch of before
    and at a batch that fills the matmuls better; each in tokens per second, in model FLOPs against the float32
    matmul rate measured beside them, and the ratio to the legacy step at batch 32 (target: >= 2x). Then the
    evaluation of a population (all prefixes of 512 documents) in tokens per second."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax
    from legacy_lm import LegacyTransformer, legacy_step  # beside this script

    from simulations import models

    T = length - 1
    per_token = layers * (24 * width**2 + 4 * T * width) + 2 * width * vocab  # forward FLOPs of one prefix
    n = 512
    a = jnp.ones((n, n), jnp.float32)
    mm = jax.jit(lambda x: x @ x)
    jax.block_until_ready(mm(a))
    rate = 2 * n**3 / best_of(lambda: jax.block_until_ready(mm(a)), repeats)
    K = models.STEPS_PER_CALL
    before = 32 * T / BEFORE["ms"]  # tokens per millisecond: k tokens/s
    print(f"(SEQ) transformer train step (width {width}, {layers} layers, V = {vocab}, documents of {length} tokens); "
          f"float32 matmul rate {rate / 1e9:.1f} GFLOP/s ({n}³ products); committed before: {BEFORE['ms']} ms a step "
          f"at batch 32, {before:.0f} k tokens/s, {BEFORE['share']:.0%} of the matmul rate then")  # fmt: skip
    base = None
    for batch in batches:
        tokens = jax.random.randint(jax.random.key(1), (K, batch, length), 0, vocab)
        legacy = LegacyTransformer(width, 4, layers, vocab, length, jax.random.key(0))
        opt = optax.adamw(1e-3)
        state = opt.init(eqx.filter(legacy, eqx.is_array))
        step = eqx.filter_jit(legacy_step)
        jax.block_until_ready(step(legacy, state, tokens[0], opt)[2])

        def old(legacy=legacy, state=state, step=step, opt=opt, tokens=tokens):
            m, s = legacy, state
            for i in range(K):
                m, s, _ = step(m, s, tokens[i], opt)
            jax.block_until_ready(m)

        cfg = models.SequenceLMConfig(width=width, layers=layers, heads=4, steps=10 * K, batch=batch, corpus=0)
        model = models.init_sequence_lm(jax.random.key(0), cfg, vocab, length)
        optimizer = models.make_sequence_optimizer(cfg, model)
        opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
        run = eqx.filter_jit(models.train_sequence_steps)
        count = jnp.int32(K)
        jax.block_until_ready(run(model, opt_state, tokens, count, optimizer)[0])

        def new(model=model, opt_state=opt_state, run=run, optimizer=optimizer, tokens=tokens, count=count):
            jax.block_until_ready(run(model, opt_state, tokens, count, optimizer)[0])

        t_old, t_new = best_of(old, repeats) / K, best_of(new, repeats) / K
        flops = 3 * batch * T * per_token
        base = base or (32 * T / t_old if batch == 32 else None)
        for name, t in (("before (legacy)", t_old), ("now", t_new)):
            ratio = f", {batch * T / t / base:.2f}x the legacy step at batch 32" if base else ""
            print(f"  batch {batch:>3}, {name:<16}: {t * 1e3:6.1f} ms a step, {batch * T / t / 1e3:6.0f} k tokens/s, "
                  f"{flops / t / 1e9:5.1f} GFLOP/s = {flops / t / rate:.0%} of the matmul rate{ratio}")  # fmt: skip
    cfg = models.SequenceLMConfig(width=width, layers=layers, heads=4, steps=10, batch=32, corpus=0, warmup=1)
    model = models.init_sequence_lm(jax.random.key(0), cfg, vocab, length)
    docs = np.asarray(jax.random.randint(jax.random.key(2), (512, 32), 0, vocab))
    models.sequence_log_probs(model, docs[:64])
    t_eval = best_of(lambda: models.sequence_log_probs(model, docs), max(1, repeats // 2))
    print(f"  population evaluation (log q of every prefix, float64): {docs.size / t_eval / 1e3:.0f} k tokens/s")
