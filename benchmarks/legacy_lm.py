"""The sequence transformer as it was before the block-of-steps training (bench SEQ's baseline, timed beside the
current one in the same run): Equinox's multi-head attention mapped over the documents, LayerNorm, a tanh GELU,
and one compiled call per optimiser step."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp


class LegacyBlock(eqx.Module):
    """x + Attn(LN(x)) with a causal mask, then x + MLP(LN(x)) (pre-LN), for one document."""

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


class LegacyTransformer(eqx.Module):
    embed: jax.Array
    pos: jax.Array
    blocks: tuple[LegacyBlock, ...]
    norm: eqx.nn.LayerNorm
    out: jax.Array
    bias: jax.Array

    def __init__(self, width: int, heads: int, layers: int, vocab_size: int, max_len: int, key: jax.Array) -> None:
        ke, kp, kb, ko = jax.random.split(key, 4)
        self.embed = jax.random.normal(ke, (vocab_size, width)) * 0.02
        self.pos = jax.random.normal(kp, (max_len, width)) * 0.02
        self.blocks = tuple(LegacyBlock(width, heads, k) for k in jax.random.split(kb, layers))
        self.norm = eqx.nn.LayerNorm(width)
        self.out = jax.random.normal(ko, (width, vocab_size)) / math.sqrt(width)
        self.bias = jnp.zeros(vocab_size)

    def logits(self, tokens: jax.Array) -> jax.Array:
        x = self.embed[tokens] + self.pos[: tokens.shape[0]]
        for block in self.blocks:
            x = block(x)
        return jax.vmap(self.norm)(x) @ self.out + self.bias


def legacy_loss(model: LegacyTransformer, batch: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(jax.vmap(model.logits)(batch[:, :-1]), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, batch[:, 1:, None], axis=-1))


def legacy_step(model, state, batch, optimizer):
    loss, grads = eqx.filter_value_and_grad(legacy_loss)(model, batch)
    updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), state, loss
