"""Sequence language models in Equinox, trained with optax on sampled documents of a sequence world.

Two architectures, both with an explicit softmax output layer p_f(s) = softmax(Φᵀf(s) + b), so that the
features f(s) (the last hidden state), the word embeddings Φ (d × V) and the conditional means Φp_f(s) are
the objects of the paper's theorems (arXiv:2010.03648 §4–§5):

- a pre-LN causal transformer: token embeddings and learned positions, `layers` blocks of
  x + Attn(LN(x)) (Equinox's multi-head attention with a causal mask) and x + MLP(LN(x)), a final LN; the
  output embeddings are Φ, or the input embeddings transposed when `tied`;
- a GRU: Equinox's GRU cell scanned over the tokens, its state after each token normalised by an LN.

Training minimises the next-token cross-entropy on a finite corpus of documents sampled from the world
(`corpus` documents, visited in a new order each epoch) with AdamW and a warm-up then cosine schedule; the
step is compiled once (`eqx.filter_jit`; a test holds it with `chex.assert_max_traces`). The model is float32;
everything measured from it (Q, ε, the probes) is float64 NumPy on the floors above.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..core import MAX_CORPUS, MAX_COUNT, check_choice, check_range
from ..worlds import check_tokens

SEQUENCE_LMS = ("transformer", "gru")


@dataclasses.dataclass(frozen=True)
class SequenceLMConfig:
    """A sequence LM and its training.

    kind: "transformer" (pre-LN, causal) or "gru".
    layers: transformer blocks, 1–4 (the GRU has one cell).
    width: d, the width of the embeddings, of the hidden state and of the features f(s), 8–512.
    heads: attention heads (divides width).
    tied: the output embeddings Φ are the input embeddings (transposed).
    steps: optimiser steps; batch: documents per step; corpus: training documents (the finite corpus).
    lr: the peak learning rate, reached after `warmup` steps, then a cosine decay to lr/10 at the last step.
    weight_decay: AdamW's decoupled weight decay (not applied to LayerNorm parameters and biases).
    checkpoints: log-spaced steps at which the model is kept (`sequence_checkpoints`; the last step always).
    """

    kind: str = "transformer"
    layers: int = 2
    width: int = 64
    heads: int = 4
    tied: bool = False
    steps: int = 1500
    batch: int = 64
    corpus: int = 8192
    lr: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    checkpoints: int = 6

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, set(SEQUENCE_LMS))
        check_range("layers", self.layers, 1, 4, integer=True)
        check_range("width", self.width, 8, 512, integer=True)
        check_range("heads", self.heads, 1, 64, integer=True)
        if self.width % self.heads:
            raise ValueError(f"heads must divide width, got width={self.width}, heads={self.heads}")
        check_range("steps", self.steps, 1, MAX_COUNT, integer=True)
        check_range("batch", self.batch, 1, 10**5, integer=True)
        check_range("corpus", self.corpus, 1, MAX_CORPUS, integer=True)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_range("warmup", self.warmup, 0, MAX_COUNT, integer=True)
        if self.warmup >= self.steps:
            raise ValueError(f"warmup must be below steps (the schedule then decays), got warmup={self.warmup}, "
                             f"steps={self.steps}")  # fmt: skip
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("checkpoints", self.checkpoints, 1, 1000, integer=True)


class _Block(eqx.Module):
    """x + Attn(LN(x)) with a causal mask, then x + MLP(LN(x)) (pre-LN)."""

    ln1: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    ln2: eqx.nn.LayerNorm
    mlp: eqx.nn.MLP

    def __init__(self, width: int, heads: int, key: jax.Array) -> None:
        k1, k2 = jax.random.split(key)
        self.ln1, self.ln2 = eqx.nn.LayerNorm(width), eqx.nn.LayerNorm(width)
        self.attn = eqx.nn.MultiheadAttention(heads, width, use_output_bias=True, key=k1)
        self.mlp = eqx.nn.MLP(width, width, 4 * width, 1, activation=jax.nn.gelu, key=k2)

    def __call__(self, x: jax.Array) -> jax.Array:
        T = x.shape[0]
        causal = jnp.tril(jnp.ones((T, T), dtype=bool))
        h = jax.vmap(self.ln1)(x)
        x = x + self.attn(h, h, h, mask=causal)
        return x + jax.vmap(self.mlp)(jax.vmap(self.ln2)(x))


class SequenceLM(eqx.Module):
    """A causal transformer or a GRU with an explicit softmax output layer (see the module docstring).

    `features(tokens)` gives f(s) (T, d) for the prefixes w_≤1 … w_≤T of one document; `phi()` Φ (d, V);
    `logits(tokens)` f(s)ᵀΦ + b (T, V).
    """

    embed: jax.Array  # (V, d)
    pos: jax.Array | None  # (max_len, d) learned positions (transformer), None for the GRU
    blocks: tuple[_Block, ...]
    cell: eqx.nn.GRUCell | None
    norm: eqx.nn.LayerNorm
    out: jax.Array | None  # (d, V) Φ, None when tied to the input embeddings
    bias: jax.Array  # (V,)

    def __init__(self, cfg: SequenceLMConfig, vocab_size: int, max_len: int, key: jax.Array) -> None:
        ke, kp, kb, kc, ko = jax.random.split(key, 5)
        d = cfg.width
        self.embed = jax.random.normal(ke, (vocab_size, d)) * 0.02
        if cfg.kind == "transformer":
            self.pos = jax.random.normal(kp, (max_len, d)) * 0.02
            self.blocks = tuple(_Block(d, cfg.heads, k) for k in jax.random.split(kb, cfg.layers))
            self.cell = None
        else:
            self.pos, self.blocks = None, ()
            self.cell = eqx.nn.GRUCell(d, d, key=kc)
        self.norm = eqx.nn.LayerNorm(d)
        self.out = None if cfg.tied else jax.random.normal(ko, (d, vocab_size)) / math.sqrt(d)
        self.bias = jnp.zeros(vocab_size)

    def features(self, tokens: jax.Array) -> jax.Array:
        x = self.embed[tokens]
        if self.cell is None:
            assert self.pos is not None
            x = x + self.pos[: tokens.shape[0]]
            for block in self.blocks:
                x = block(x)
        else:
            cell = self.cell

            def step(h, xt):
                h = cell(xt, h)
                return h, h

            _, x = jax.lax.scan(step, jnp.zeros(x.shape[1]), x)
        return jax.vmap(self.norm)(x)

    def phi(self) -> jax.Array:
        return self.embed.T if self.out is None else self.out

    def logits(self, tokens: jax.Array) -> jax.Array:
        return self.features(tokens) @ self.phi() + self.bias


def init_sequence_lm(key: jax.Array, cfg: SequenceLMConfig, vocab_size: int, max_len: int) -> SequenceLM:
    """A fresh model (the `init` stream's key)."""
    return SequenceLM(cfg, vocab_size, max_len, key)


def _decay_mask(model: SequenceLM):
    """Weight decay on the matrices only: not on LayerNorm parameters, biases or positions' 1-D leaves."""
    return jax.tree_util.tree_map(lambda x: eqx.is_array(x) and x.ndim >= 2, model)


def make_sequence_optimizer(cfg: SequenceLMConfig, model: SequenceLM) -> optax.GradientTransformation:
    """AdamW with a linear warm-up to `lr` and a cosine decay to lr/10 at the last step."""
    schedule = optax.warmup_cosine_decay_schedule(0.0, cfg.lr, cfg.warmup, cfg.steps, cfg.lr / 10)
    return optax.adamw(schedule, weight_decay=cfg.weight_decay, mask=_decay_mask(model))


def sequence_loss(model: SequenceLM, batch: jax.Array) -> jax.Array:
    """Mean next-token cross-entropy of a batch of documents (B, T): each prefix w_≤t predicts w_{t+1}."""
    logits = jax.vmap(model.logits)(batch[:, :-1])
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, batch[:, 1:, None], axis=-1))


def train_step(
    model: SequenceLM, state: optax.OptState, batch: jax.Array, optimizer: optax.GradientTransformation
) -> tuple[SequenceLM, optax.OptState, jax.Array]:
    """One AdamW step on one batch: (model, optimiser state, the batch's loss)."""
    loss, grads = eqx.filter_value_and_grad(sequence_loss)(model, batch)
    updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), state, loss


def train_sequence_lm(
    key_init: jax.Array,
    key_order: jax.Array,
    corpus: np.ndarray,
    vocab_size: int,
    cfg: SequenceLMConfig,
    tick: Callable[[], None] = lambda: None,
    step_fn: Callable | None = None,
) -> list[tuple[int, SequenceLM]]:
    """Train one model on the documents `corpus` (n, T) and return its checkpoints [(step, model)].

    The corpus is visited in a new order each epoch (drawn from `key_order`; the last partial batch of an
    epoch is dropped). Checkpoints are `sequence_checkpoints(cfg.steps, cfg.checkpoints)`. `tick` is called at
    every checkpoint (progress). `step_fn` replaces the compiled step (tests count its traces with
    `chex.assert_max_traces`).

    Raises:
      ValueError: a corpus that is not (documents, length) token ids in [0, vocab_size), or smaller than one
      batch.
    """
    corpus = check_tokens(corpus, vocab_size, "corpus")
    n, T = corpus.shape
    if n < cfg.batch:
        raise ValueError(f"corpus: {n} documents cannot fill one batch of {cfg.batch}")
    corpus_j = jnp.asarray(corpus, dtype=jnp.int32)
    model = init_sequence_lm(key_init, cfg, vocab_size, T)
    optimizer = make_sequence_optimizer(cfg, model)
    state = optimizer.init(eqx.filter(model, eqx.is_array))
    step = step_fn or _compiled_step
    keep = set(sequence_checkpoints(cfg.steps, cfg.checkpoints))
    per_epoch = n // cfg.batch
    out, order = [], None
    for i in range(cfg.steps):
        j = i % per_epoch
        if j == 0:  # a new order of the corpus each epoch
            order = jax.random.permutation(jax.random.fold_in(key_order, i // per_epoch), n)
        assert order is not None
        batch = corpus_j[order[j * cfg.batch : (j + 1) * cfg.batch]]
        model, state, _ = step(model, state, batch, optimizer)
        if i + 1 in keep:
            out.append((i + 1, model))
            tick()
    return out


#: The compiled step (one trace per model shape: the optimizer is static, the batch shape fixed).
_compiled_step = eqx.filter_jit(train_step)


def sequence_checkpoints(steps: int, n: int) -> list[int]:
    """At most n log-spaced steps from steps/30 (at least 1) to `steps`, distinct and increasing; the last is
    `steps`. (A checkpoint after one step tells nothing: the model is still its initialisation.)"""
    if n <= 1:
        return [steps]
    return [int(s) for s in np.unique(np.round(np.geomspace(max(1, steps // 30), steps, n)).astype(int))]


@eqx.filter_jit
def _log_probs(model: SequenceLM, tokens: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(jax.vmap(model.logits)(tokens), axis=-1)


def sequence_log_probs(model: SequenceLM, tokens: np.ndarray, batch: int = 64) -> np.ndarray:
    """log q(·|w_≤t) (n, T, V) for every prefix of every document, in float64 (from the model's float32 logits,
    renormalised in float64 so that every row is a distribution to float64 precision)."""
    out = []
    for start in range(0, tokens.shape[0], batch):
        chunk = np.asarray(_log_probs(model, jnp.asarray(tokens[start : start + batch], jnp.int32)), np.float64)
        out.append(chunk - np.logaddexp.reduce(chunk, axis=-1, keepdims=True))
    return np.concatenate(out)


@eqx.filter_jit
def _ends(model: SequenceLM, tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
    def one(t):
        f = model.features(t)[-1]
        return f, jax.nn.log_softmax(f @ model.phi() + model.bias)

    return jax.vmap(one)(tokens)


def read_ends(model: SequenceLM, tokens: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(f(s) (n, d), log q(·|s) (n, V)) at the end of each token sequence, in float64 (the log-probabilities
    renormalised in float64, as `sequence_log_probs` does for every prefix)."""
    feats, logs = [], []
    for i in range(0, tokens.shape[0], batch):
        f, lq = _ends(model, jnp.asarray(tokens[i : i + batch], jnp.int32))
        lq64 = np.asarray(lq, np.float64)
        feats.append(np.asarray(f, np.float64))
        logs.append(lq64 - np.logaddexp.reduce(lq64, axis=-1, keepdims=True))
    return np.concatenate(feats), np.concatenate(logs)


def output_layer(model: SequenceLM) -> tuple[np.ndarray, np.ndarray]:
    """(Φ (d, V), b (V,)) in float64."""
    return np.asarray(model.phi(), np.float64), np.asarray(model.bias, np.float64)


def save_checkpoint(path: Path, model: SequenceLM) -> None:
    """Write the model's leaves with Equinox's serialisation (never pickle), atomically."""
    from ..core import atomic_write

    atomic_write(Path(path), lambda fh: eqx.tree_serialise_leaves(fh, model), binary=True)


def load_checkpoint(path: Path, cfg: SequenceLMConfig, vocab_size: int, max_len: int) -> SequenceLM:
    """Read a checkpoint written by `save_checkpoint` into a model of the same config."""
    like = init_sequence_lm(jax.random.key(0), cfg, vocab_size, max_len)
    return eqx.tree_deserialise_leaves(Path(path), like)
