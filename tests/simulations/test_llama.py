"""The real-model bridge on a tiny random Llama checkpoint written here in GGUF (Q4_1 blocks, Q8_0 embeddings, as
SmolLM2's file stores them): the reader dequantises every tensor, the tokenizer built from the file's vocabulary
and merges encodes as the tokenizer that made them and round-trips text, and the Equinox forward pass agrees with
an independent NumPy float64 forward pass, written out below (rotary positions as complex numbers, one head
and one document at a time), to 1e-3 in the logits on 100 prompts.

These tests need the optional extra `real` (gguf, tokenizers); without it they skip, and `make real` runs them.
"""

import json

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the optional extra real (pip install 'natural-tasks[real]')")
tokenizers = pytest.importorskip("tokenizers", reason="the optional extra real (pip install 'natural-tasks[real]')")

from simulations import models as llama  # noqa: E402

Q = gguf.GGMLQuantizationType
SIZES = dict(width=64, layers=2, heads=4, kv_heads=2, ffn=128, context=64)
TEXT = ["This movie is great.", "The film was a boring mess, sadly.", "I loved it 100 times over!",
        "What a terrible, terrible plot.", "the the the movie movie film"]  # fmt: skip


def _train_bpe():
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
        [
            tokenizers.pre_tokenizers.Digits(individual_digits=True),
            tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]  # fmt: skip
    )
    tok.decoder = tokenizers.decoders.ByteLevel()
    alphabet = tokenizers.pre_tokenizers.ByteLevel.alphabet()
    trainer = tokenizers.trainers.BpeTrainer(vocab_size=300, initial_alphabet=alphabet,
                                             special_tokens=["<|endoftext|>"], show_progress=False)  # fmt: skip
    tok.train_from_iterator(TEXT * 20 + ["This movie is positive, not negative."] * 200, trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tok, [t for t, _ in vocab], merges


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(path, the float32 weights before quantisation, the tokenizer that made the vocabulary)."""
    return write_tiny(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


def write_tiny(path, declared_kv_heads=None):
    """Write the tiny checkpoint at `path`; `declared_kv_heads` puts another KV-head count in its metadata than
    its tensors have. Returns (path, the weights before quantisation, the tokenizer)."""
    tok, tokens, merges = _train_bpe()
    V, d, ffn, H, K = len(tokens), SIZES["width"], SIZES["ffn"], SIZES["heads"], SIZES["kv_heads"]
    hd = d // H
    rng = np.random.default_rng(0)
    w = {"token_embd.weight": rng.normal(0, 1.0, (V, d)), "output_norm.weight": rng.uniform(0.5, 1.5, d)}
    shapes = {"attn_q": ((d, d), 0.3), "attn_k": ((K * hd, d), 0.3), "attn_v": ((K * hd, d), 0.3),
              "attn_output": ((d, d), 0.1), "ffn_gate": ((ffn, d), 0.2), "ffn_up": ((ffn, d), 0.2),
              "ffn_down": ((d, ffn), 0.1)}  # fmt: skip
    for i in range(SIZES["layers"]):
        w |= {f"blk.{i}.{n}.weight": rng.uniform(0.5, 1.5, d) for n in ("attn_norm", "ffn_norm")}
        w |= {f"blk.{i}.{n}.weight": rng.normal(0, sd, shape) for n, (shape, sd) in shapes.items()}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    out = gguf.GGUFWriter(str(path), "llama")
    out.add_name("tiny random llama")
    out.add_context_length(SIZES["context"])
    out.add_embedding_length(d)
    out.add_block_count(SIZES["layers"])
    out.add_feed_forward_length(ffn)
    out.add_head_count(H)
    out.add_head_count_kv(declared_kv_heads or K)
    out.add_rope_freq_base(10000.0)
    out.add_layer_norm_rms_eps(1e-5)
    out.add_tokenizer_model("gpt2")
    out.add_tokenizer_pre("smollm")
    out.add_token_list(tokens)
    out.add_token_types([3 if t == "<|endoftext|>" else 1 for t in tokens])
    out.add_token_merges(merges)
    for name, arr in w.items():
        if arr.ndim == 1:
            out.add_tensor(name, arr)
        else:
            kind = Q.Q8_0 if name == "token_embd.weight" else Q.Q4_1
            out.add_tensor(name, gguf.quants.quantize(arr, kind), raw_dtype=kind)
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()
    return path, w, tok


def test_the_reader_dequantises_every_tensor_and_reads_the_config(tiny):
    path, w, _ = tiny
    ckpt = llama.read_gguf(path)
    c = ckpt.config
    assert (c.width, c.layers, c.heads, c.kv_heads, c.ffn) == (64, 2, 4, 2, 128)
    assert c.vocab_size == w["token_embd.weight"].shape[0]
    assert set(ckpt.weights) == set(w)
    for name, arr in w.items():
        got = ckpt.weights[name]
        assert got.shape == arr.shape and got.dtype == np.float32
        if arr.ndim == 1:
            np.testing.assert_array_equal(got, arr)  # stored as F32
        else:  # a Q4_1 block of 32 keeps each value within half a step (range / 15 / 2); Q8_0 within max/127/2
            blocks = arr.reshape(arr.shape[0], -1, 32)
            span = (
                (blocks.max(-1) - blocks.min(-1)) / 15
                if ckpt.quantisation[name] == "Q4_1"
                else np.abs(blocks).max(-1) / 127
            )
            err = np.abs(got.reshape(blocks.shape) - blocks)
            assert np.all(err <= span[..., None] * 0.5 + 1e-3 * np.abs(blocks).max()), name
    assert "dequantised to float32" in repr(ckpt) and "Q4_1" in repr(ckpt)
    np.testing.assert_array_equal(llama.output_embeddings(ckpt), ckpt.weights["token_embd.weight"])  # tied


def test_the_tokenizer_encodes_as_the_one_that_made_it_and_round_trips(tiny):
    path, _, made = tiny
    tok = llama.gguf_tokenizer(llama.read_gguf(path))
    for text in [*TEXT, "Unseen words: zebra 2024, café!", "  two  spaces"]:
        ids = tok.encode(text).ids
        assert ids == made.encode(text).ids
        assert tok.decode(ids) == text
    assert tok.encode("<|endoftext|>").ids == [made.token_to_id("<|endoftext|>")]


def _numpy_forward(ckpt, tokens):
    """Logits at every position, float64, one document: written from the Llama definition, independently."""
    c, W = ckpt.config, {k: v.astype(np.float64) for k, v in ckpt.weights.items()}
    L, hd, group = len(tokens), c.head_dim, c.heads // c.kv_heads

    def norm(x, g):
        return x / np.sqrt((x**2).mean(-1, keepdims=True) + c.norm_eps) * g

    def rotate(x):  # (L, hd): adjacent pairs as complex numbers, turned by pos · base^(-2i/hd)
        z = x[:, 0::2] + 1j * x[:, 1::2]
        turn = np.exp(1j * np.outer(np.arange(L), c.rope_base ** (-np.arange(hd // 2) * 2 / hd)))
        z = z * turn
        out = np.empty_like(x)
        out[:, 0::2], out[:, 1::2] = z.real, z.imag
        return out

    h = W["token_embd.weight"][tokens]
    for i in range(c.layers):
        x = norm(h, W[f"blk.{i}.attn_norm.weight"])
        q, k, v = (x @ W[f"blk.{i}.attn_{n}.weight"].T for n in "qkv")
        heads = []
        for j in range(c.heads):
            kv = j // group
            qj = rotate(q[:, j * hd : (j + 1) * hd])
            kj = rotate(k[:, kv * hd : (kv + 1) * hd])
            vj = v[:, kv * hd : (kv + 1) * hd]
            s = qj @ kj.T / np.sqrt(hd)
            s[np.triu_indices(L, 1)] = -np.inf
            p = np.exp(s - s.max(1, keepdims=True))
            heads.append((p / p.sum(1, keepdims=True)) @ vj)
        h = h + np.concatenate(heads, axis=1) @ W[f"blk.{i}.attn_output.weight"].T
        x = norm(h, W[f"blk.{i}.ffn_norm.weight"])
        g = x @ W[f"blk.{i}.ffn_gate.weight"].T
        h = h + ((g / (1 + np.exp(-g))) * (x @ W[f"blk.{i}.ffn_up.weight"].T)) @ W[f"blk.{i}.ffn_down.weight"].T
    return norm(h, W["output_norm.weight"]) @ W["token_embd.weight"].T


def test_the_forward_pass_matches_a_numpy_float64_one_on_100_prompts(tiny):
    path, _, _ = tiny
    ckpt = llama.read_gguf(path)
    model = llama.Llama.from_checkpoint(ckpt)
    rng = np.random.default_rng(1)
    docs = [list(rng.integers(0, ckpt.config.vocab_size, size=int(rng.integers(1, 24)))) for _ in range(100)]
    f, logp = llama.last_token_features(model, docs, batch=16)
    worst = 0.0
    for i, d in enumerate(docs):
        want = _numpy_forward(ckpt, d)[-1]
        got = f[i] @ ckpt.weights["token_embd.weight"].T.astype(np.float64)
        worst = max(worst, float(np.abs(got - want).max()))
        np.testing.assert_allclose(logp[i], want - np.logaddexp.reduce(want), atol=2e-3)
    assert worst < 1e-3, worst
    assert np.abs(_numpy_forward(ckpt, docs[0])).max() > 1.0  # logits of a real spread, not a vacuous match


def test_bad_input_is_one_clear_error(tiny, tmp_path):
    path, _, _ = tiny
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)
    with pytest.raises(ValueError, match="not a readable GGUF file"):
        llama.read_gguf(bad)
    with pytest.raises(ValueError, match="no such file"):
        llama.read_gguf(tmp_path / "none.gguf")
    with pytest.raises(ValueError, match="is a folder"):
        llama.read_gguf(tmp_path)
    lying, _, _ = write_tiny(tmp_path / "lying.gguf", declared_kv_heads=1)  # metadata: 1 KV head; tensors: 2
    with pytest.raises(ValueError, match=r"attn_k.weight has shape \(32, 64\), expected \(16, 64\)"):
        llama.read_gguf(lying)
    model = llama.Llama.from_checkpoint(llama.read_gguf(path))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        llama.last_token_features(model, [[0, 10**6]])
    with pytest.raises(ValueError, match="non-empty"):
        llama.last_token_features(model, [[]])


def test_the_real_table_runs_end_to_end_and_caches_its_features(tiny, tmp_path):
    """`natural-tasks real` on the tiny checkpoint: the table (every feature kind, without and with the prompt),
    its CSV marked as ours, the log-partition figure; a second run reads the cached features; a cache whose
    digest no longer matches is recomputed; a user's own file where the CSV would go is refused before any work."""
    from simulations import real
    from simulations.cli import main

    path, _, _ = tiny
    out, results = tmp_path / "out", tmp_path / "results"
    args = ["real", "--model", str(path), "--out", str(out), "--results", str(results), "--words", "50"]
    assert main(args) == 0
    lines = (out / "real_table.csv").read_text().splitlines()
    assert lines[0].startswith("# natural-tasks")
    cells = {tuple(line.split(",")[:2]) for line in lines[2:]}
    assert cells == {(f, p) for f in (*real.FEATURES, "zero-shot") for p in ("no", "yes")}
    for line in lines[2:]:
        assert 0.0 <= float(line.split(",")[3]) <= 1.0
    assert (out / "real_partition.png").is_file() and (out / "real_table.png").is_file()
    (cached,) = (results / "real").glob("*.npz")
    stamp = cached.stat().st_mtime_ns
    assert main(args) == 0
    assert cached.stat().st_mtime_ns == stamp  # read back, not recomputed
    cached.write_bytes(cached.read_bytes()[:-10])  # damaged: its SHA-256 no longer matches
    assert main(args) == 0
    assert cached.stat().st_mtime_ns != stamp
    (out / "real_table.csv").write_text("my own notes\n")
    assert main(args) == 2
    assert (out / "real_table.csv").read_text() == "my own notes\n"


def test_real_without_a_model_or_with_a_bad_one_is_one_line(tmp_path, capsys):
    from simulations.cli import main

    assert main(["real", "--model", str(tmp_path / "none.gguf"), "--out", str(tmp_path / "o"),
                 "--results", str(tmp_path / "r")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.gguf" in err[0] and "cannot be read" in err[0]
    (tmp_path / "notes.gguf").write_text("my notes")
    assert main(["real", "--model", str(tmp_path / "notes.gguf"), "--out", str(tmp_path / "o"),
                 "--results", str(tmp_path / "r")]) == 2  # fmt: skip
    assert "not a GGUF file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r").exists()  # nothing created before the check
    with pytest.raises(SystemExit) as stop:
        main(["real", "--words", "5"])
    assert stop.value.code == 2 and "words must be in [10, 2000]" in capsys.readouterr().err
