"""Sequence language models in Equinox, trained with optax on sampled documents of a sequence world.

Two architectures behind one small interface (`SequenceLM`: `features`, `phi`, `logits`), both with the
explicit softmax output layer p_f(s) = softmax(Φᵀf(s) + b) they share, so that the features f(s) (the last
hidden state), the word embeddings Φ (d × V) and the conditional means Φp_f(s) are the objects of the paper's
theorems (arXiv:2010.03648 §4–§5):

- `Transformer`: a pre-norm causal transformer: token embeddings and learned positions, `layers` blocks of
  x + Attn(N(x)) (multi-head attention under a causal mask, its queries, keys and values from one fused
  product) and x + MLP(N(x)) (ReLU, width 4d), a final N; N is an RMSNorm with a learned gain;
- `GRU`: Equinox's GRU cell scanned over the tokens, its state after each token normalised by N.

Both compute a whole batch of documents at once (batched matrix products, not a map over documents). The
choices that made the step cheaper on a CPU were measured (bench SEQ): the ReLU and the RMSNorm each saved
about a sixth of a transformer step against the tanh GELU and LayerNorm, and an RMSNorm's output satisfies no
exact linear relation (a LayerNorm's sums to a constant, which an unconstrained probe on f then fits in
rounding).

Training minimises the next-token cross-entropy with AdamW and a warm-up then cosine schedule, on a finite
corpus of documents (visited in a new order each epoch) or on fresh documents for every step (`corpus = 0`,
drawn from the world's own generator). The steps run `STEPS_PER_CALL` at a time inside one compiled call (a
`fori_loop` over a block of batches), compiled once per model shape (a test holds it with
`chex.assert_max_traces`). The model is float32; everything measured from it (Q, ε, the probes) is float64
NumPy on the floors above.
"""

from __future__ import annotations

import abc
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
#: Optimiser steps run inside one compiled call (a block of batches is drawn on the host, then stepped through).
STEPS_PER_CALL = 32
#: The RMSNorm's ε, added to the mean square.
NORM_EPS = 1e-5


@dataclasses.dataclass(frozen=True)
class SequenceLMConfig:
    """A sequence LM and its training.

    kind: "transformer" (pre-norm, causal) or "gru".
    layers: transformer blocks, 1–4 (the GRU has one cell).
    width: d, the width of the embeddings, of the hidden state and of the features f(s), 8–512.
    heads: attention heads (divides width).
    tied: the output embeddings Φ are the input embeddings (transposed).
    steps: optimiser steps; batch: documents per step.
    corpus: training documents (a finite corpus, visited in a new order each epoch), or 0: fresh documents from
      the world's generator for every step (no document is seen twice).
    lr: the peak learning rate, reached after `warmup` steps, then a cosine decay to lr/10 at the last step.
    weight_decay: AdamW's decoupled weight decay (not applied to norms' gains and biases).
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
        check_range("corpus", self.corpus, 0, MAX_CORPUS, integer=True)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_range("warmup", self.warmup, 0, MAX_COUNT, integer=True)
        if self.warmup >= self.steps:
            raise ValueError(f"warmup must be below steps (the schedule then decays), got warmup={self.warmup}, "
                             f"steps={self.steps}")  # fmt: skip
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_range("checkpoints", self.checkpoints, 1, 1000, integer=True)


def _rms_norm(x: jax.Array, gain: jax.Array) -> jax.Array:
    """x / √(mean(x²) + ε) · gain over the last axis."""
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + NORM_EPS) * gain


def _dense(key: jax.Array, n_in: int, n_out: int) -> jax.Array:
    """An (n_in, n_out) weight with entries N(0, 1/n_in)."""
    return jax.random.normal(key, (n_in, n_out)) / math.sqrt(n_in)


class SequenceLM(eqx.Module):
    """The interface of a sequence LM: features f(s) of every prefix, the output embeddings Φ, the logits.

    `features(tokens)` gives f(s) (T, d) for the prefixes w_≤1 … w_≤T of one document (`features_batch` for a
    batch (n, T) -> (n, T, d)); `phi()` Φ (d, V); `logits(tokens)` f(s)ᵀΦ + b (T, V). A subclass gives
    `hidden_batch`, the hidden states before the final norm; the output head is shared.
    """

    embed: eqx.AbstractVar[jax.Array]  # (V, d)
    norm: eqx.AbstractVar[jax.Array]  # (d,) the final RMSNorm's gain
    out: eqx.AbstractVar[jax.Array | None]  # (d, V) Φ, None when tied to the input embeddings
    bias: eqx.AbstractVar[jax.Array]  # (V,)

    @abc.abstractmethod
    def hidden_batch(self, tokens: jax.Array) -> jax.Array:
        """(n, T, d) the hidden state after each token of each document of `tokens` (n, T)."""

    def features_batch(self, tokens: jax.Array) -> jax.Array:
        return _rms_norm(self.hidden_batch(tokens), self.norm)

    def features(self, tokens: jax.Array) -> jax.Array:
        return self.features_batch(tokens[None])[0]

    def phi(self) -> jax.Array:
        return self.embed.T if self.out is None else self.out

    def logits_batch(self, tokens: jax.Array) -> jax.Array:
        return self.features_batch(tokens) @ self.phi() + self.bias

    def logits(self, tokens: jax.Array) -> jax.Array:
        return self.logits_batch(tokens[None])[0]


class _Block(eqx.Module):
    """x + Attn(N(x)) under a causal mask, then x + W₂ ReLU(W₁ N(x)) (pre-norm)."""

    norm1: jax.Array
    qkv: jax.Array  # (d, 3d): queries, keys and values in one product
    qkv_bias: jax.Array
    proj: jax.Array  # (d, d)
    proj_bias: jax.Array
    norm2: jax.Array
    up: jax.Array  # (d, 4d)
    up_bias: jax.Array
    down: jax.Array  # (4d, d)
    down_bias: jax.Array
    heads: int = eqx.field(static=True)

    def __init__(self, width: int, heads: int, key: jax.Array) -> None:
        k1, k2, k3, k4 = jax.random.split(key, 4)
        d = width
        self.norm1, self.norm2 = jnp.ones(d), jnp.ones(d)
        self.qkv, self.qkv_bias = _dense(k1, d, 3 * d), jnp.zeros(3 * d)
        self.proj, self.proj_bias = _dense(k2, d, d), jnp.zeros(d)
        self.up, self.up_bias = _dense(k3, d, 4 * d), jnp.zeros(4 * d)
        self.down, self.down_bias = _dense(k4, 4 * d, d), jnp.zeros(d)
        self.heads = heads

    def __call__(self, x: jax.Array) -> jax.Array:
        n, T, d = x.shape
        e = d // self.heads
        qkv = (_rms_norm(x, self.norm1) @ self.qkv + self.qkv_bias).reshape(n, T, 3, self.heads, e)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        scores = jnp.einsum("nthe,nshe->nhts", q, k) / math.sqrt(e)
        causal = jnp.tril(jnp.ones((T, T), dtype=bool))
        # masked scores at the most negative float32, not −inf: a row never has every entry masked (the diagonal)
        attn = jax.nn.softmax(jnp.where(causal, scores, jnp.finfo(scores.dtype).min), axis=-1)
        x = x + jnp.einsum("nhts,nshe->nthe", attn, v).reshape(n, T, d) @ self.proj + self.proj_bias
        h = jax.nn.relu(_rms_norm(x, self.norm2) @ self.up + self.up_bias)
        return x + h @ self.down + self.down_bias


class Transformer(SequenceLM):
    """A pre-norm causal transformer with learned positions (see the module docstring)."""

    embed: jax.Array
    pos: jax.Array  # (max_len, d)
    blocks: tuple[_Block, ...]
    norm: jax.Array
    out: jax.Array | None
    bias: jax.Array

    def __init__(self, cfg: SequenceLMConfig, vocab_size: int, max_len: int, key: jax.Array) -> None:
        ke, kp, kb, ko = jax.random.split(key, 4)
        d = cfg.width
        self.embed = jax.random.normal(ke, (vocab_size, d)) * 0.02
        self.pos = jax.random.normal(kp, (max_len, d)) * 0.02
        self.blocks = tuple(_Block(d, cfg.heads, k) for k in jax.random.split(kb, cfg.layers))
        self.norm = jnp.ones(d)
        self.out = None if cfg.tied else _dense(ko, d, vocab_size)
        self.bias = jnp.zeros(vocab_size)

    def hidden_batch(self, tokens: jax.Array) -> jax.Array:
        x = self.embed[tokens] + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        return x


class GRU(SequenceLM):
    """Equinox's GRU cell scanned over the tokens, a batch of documents at a time (see the module docstring)."""

    embed: jax.Array
    cell: eqx.nn.GRUCell
    norm: jax.Array
    out: jax.Array | None
    bias: jax.Array

    def __init__(self, cfg: SequenceLMConfig, vocab_size: int, max_len: int, key: jax.Array) -> None:
        ke, kc, ko = jax.random.split(key, 3)
        d = cfg.width
        self.embed = jax.random.normal(ke, (vocab_size, d)) * 0.02
        self.cell = eqx.nn.GRUCell(d, d, key=kc)
        self.norm = jnp.ones(d)
        self.out = None if cfg.tied else _dense(ko, d, vocab_size)
        self.bias = jnp.zeros(vocab_size)

    def hidden_batch(self, tokens: jax.Array) -> jax.Array:
        x = self.embed[tokens].transpose(1, 0, 2)  # (T, n, d): scanned over positions
        cell = jax.vmap(self.cell)

        def step(h, xt):
            h = cell(xt, h)
            return h, h

        _, hs = jax.lax.scan(step, jnp.zeros(x.shape[1:]), x)
        return hs.transpose(1, 0, 2)


def init_sequence_lm(key: jax.Array, cfg: SequenceLMConfig, vocab_size: int, max_len: int) -> SequenceLM:
    """A fresh model of `cfg.kind` (the `init` stream's key)."""
    architecture = Transformer if cfg.kind == "transformer" else GRU
    return architecture(cfg, vocab_size, max_len, key)


def _decay_mask(model: SequenceLM):
    """Weight decay on the matrices only: not on norms' gains, biases or other 1-D leaves."""
    return jax.tree_util.tree_map(lambda x: eqx.is_array(x) and x.ndim >= 2, model)


def make_sequence_optimizer(cfg: SequenceLMConfig, model: SequenceLM) -> optax.GradientTransformation:
    """AdamW with a linear warm-up to `lr` and a cosine decay to lr/10 at the last step."""
    schedule = optax.warmup_cosine_decay_schedule(0.0, cfg.lr, cfg.warmup, cfg.steps, cfg.lr / 10)
    return optax.adamw(schedule, weight_decay=cfg.weight_decay, mask=_decay_mask(model))


def sequence_loss(model: SequenceLM, batch: jax.Array) -> jax.Array:
    """Mean next-token cross-entropy of a batch of documents (B, T): each prefix w_≤t predicts w_{t+1}."""
    logp = jax.nn.log_softmax(model.logits_batch(batch[:, :-1]), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, batch[:, 1:, None], axis=-1))


def train_step(
    model: SequenceLM, state: optax.OptState, batch: jax.Array, optimizer: optax.GradientTransformation
) -> tuple[SequenceLM, optax.OptState, jax.Array]:
    """One AdamW step on one batch: (model, optimiser state, the batch's loss)."""
    loss, grads = eqx.filter_value_and_grad(sequence_loss)(model, batch)
    updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), state, loss


def train_sequence_steps(
    model: SequenceLM,
    state: optax.OptState,
    batches: jax.Array,
    count: jax.Array,
    optimizer: optax.GradientTransformation,
) -> tuple[SequenceLM, optax.OptState]:
    """`count` AdamW steps, on batches[0], …, batches[count − 1] of a block `batches` (K, B, T), in one call
    (a `fori_loop` whose trip count is traced, so one compiled call serves every count up to K)."""
    params, static = eqx.partition(model, eqx.is_array)

    def body(i, carry):
        params, state = carry
        model, state, _ = train_step(eqx.combine(params, static), state, batches[i], optimizer)
        return eqx.filter(model, eqx.is_array), state

    params, state = jax.lax.fori_loop(0, count, body, (params, state))
    return eqx.combine(params, static), state


#: The compiled block of steps (one trace per model shape: the optimizer is static, the block's shape fixed).
_compiled_steps = eqx.filter_jit(train_sequence_steps)


def train_sequence_lm(
    key_init: jax.Array,
    key_order: jax.Array,
    data: np.ndarray | Callable[[int], np.ndarray],
    vocab_size: int,
    cfg: SequenceLMConfig,
    tick: Callable[[], None] = lambda: None,
    steps_fn: Callable | None = None,
    tick_block: Callable[[], None] = lambda: None,
) -> list[tuple[int, SequenceLM]]:
    """Train one model and return its checkpoints [(step, model)].

    Args:
      key_init: the model's initialisation.  key_order: the corpus's order in each epoch.
      data: the finite corpus (n, T) of token ids, visited in a new order each epoch (drawn from `key_order`;
        the last partial batch of an epoch is dropped), or a function `draw(n)` giving n fresh documents
        (n, T) (for `cfg.corpus = 0`).
      vocab_size: V.  cfg: the model and its training.
      tick: called at every checkpoint (progress).
      steps_fn: replaces the compiled block of steps (tests count its traces with `chex.assert_max_traces`).
      tick_block: called after every block of steps (`sequence_blocks` counts them: progress that moves while a
        long training runs).

    The steps run `STEPS_PER_CALL` per compiled call, each block ending at a checkpoint or before it;
    checkpoints are `sequence_checkpoints(cfg.steps, cfg.checkpoints)`.

    Raises:
      ValueError: a corpus that is not (documents, length) token ids in [0, vocab_size), or smaller than one
      batch.
    """
    if callable(data):
        draw: Callable[[int], np.ndarray] = data
        T = check_tokens(draw(1), vocab_size, "documents").shape[1]
        corpus = None
    else:
        corpus = check_tokens(data, vocab_size, "corpus")
        n, T = corpus.shape
        if n < cfg.batch:
            raise ValueError(f"corpus: {n} documents cannot fill one batch of {cfg.batch}")
    model = init_sequence_lm(key_init, cfg, vocab_size, T)
    optimizer = make_sequence_optimizer(cfg, model)
    state = optimizer.init(eqx.filter(model, eqx.is_array))
    run = steps_fn or _compiled_steps
    keep = sequence_checkpoints(cfg.steps, cfg.checkpoints)
    order = _Order(corpus, cfg.batch, key_order) if corpus is not None else None
    out, step = [], 0
    block = np.zeros((STEPS_PER_CALL, cfg.batch, T), dtype=np.int32)
    for stop in keep:
        while step < stop:
            count = min(STEPS_PER_CALL, stop - step)
            if order is not None:
                for i in range(count):
                    block[i] = order.batch(step + i)
            else:  # the block's fresh documents in one draw
                block[:count] = draw(count * cfg.batch).reshape(count, cfg.batch, T)
            model, state = run(model, state, jnp.asarray(block), jnp.int32(count), optimizer)
            step += count
            tick_block()
        out.append((step, model))
        tick()
    return out


class _Order:
    """The batches of a finite corpus: a new order of its documents each epoch (`jax.random.permutation` of the
    key folded with the epoch), the last partial batch of an epoch dropped."""

    def __init__(self, corpus: np.ndarray, batch: int, key: jax.Array) -> None:
        self.corpus, self.batch_size, self.key = corpus, batch, key
        self.per_epoch = corpus.shape[0] // batch
        self.epoch, self.order = -1, np.zeros(0, dtype=np.int64)

    def batch(self, step: int) -> np.ndarray:
        epoch, j = divmod(step, self.per_epoch)
        if epoch != self.epoch:
            self.epoch = epoch
            self.order = np.asarray(jax.random.permutation(jax.random.fold_in(self.key, epoch), len(self.corpus)))
        return self.corpus[self.order[j * self.batch_size : (j + 1) * self.batch_size]]


def sequence_blocks(steps: int, checkpoints: int) -> int:
    """The compiled calls `train_sequence_lm` makes: blocks of at most `STEPS_PER_CALL` steps, each ending at a
    checkpoint or before it."""
    stops = sequence_checkpoints(steps, checkpoints)
    return sum(-(-(b - a) // STEPS_PER_CALL) for a, b in zip([0, *stops], stops, strict=False))


def sequence_checkpoints(steps: int, n: int) -> list[int]:
    """At most n log-spaced steps from steps/30 (at least 1) to `steps`, distinct and increasing; the last is
    `steps`. (A checkpoint after one step tells nothing: the model is still its initialisation.)"""
    if n <= 1:
        return [steps]
    return [int(s) for s in np.unique(np.round(np.geomspace(max(1, steps // 30), steps, n)).astype(int))]


@eqx.filter_jit
def _log_probs(model: SequenceLM, tokens: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(model.logits_batch(tokens), axis=-1)


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
    f = model.features_batch(tokens)[:, -1]
    return f, jax.nn.log_softmax(f @ model.phi() + model.bias, axis=-1)


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
