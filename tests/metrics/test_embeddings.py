"""Embedding backends (metrics.embeddings): tokens, minilm (multilingual USE), endpoint:NAME."""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from curation.llm.fake_server import FakeLLMServer
from metrics import embeddings
from metrics.embeddings import (
    EmbeddingError,
    OpenAIEmbeddings,
    TokenTfidf,
    UniversalSentenceEncoder,
    embed_unique,
    get_backend,
)
from tests.metrics.test_tokens import NO_NETWORK, ROOT, offline_env

PAIRS_FILE = ROOT / "tests" / "data" / "similarity_pairs.jsonl"
PAIRS = {
    row["id"]: row
    for row in (json.loads(line) for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines())
}

TEXTS = [
    "请根据以下房产客服对话，总结客户的购房需求。",
    "判断客户在对话中是否表达了看房意愿，并给出理由。",
    "首付大概需要多少钱？",
    "Summarise the customer's requirements.",
    "",
]

# A handful of pairs of the data file (all three kinds of text: prompts, utterances, edits of
# punctuation, of one word, of a particle).
NEAR_DUPLICATES = ["nd-01", "nd-03", "nd-05", "nd-15", "nd-31", "nd-40", "nd-48"]
HARD_NEGATIVES = ["hn-01", "hn-02", "hn-07", "hn-11", "hn-32", "hn-38", "hn-40"]


@pytest.fixture(scope="module")
def use():
    backend = UniversalSentenceEncoder()
    backend.load()
    return backend


@pytest.fixture(params=["tokens", "minilm"])
def local(request, use):
    return use if request.param == "minilm" else TokenTfidf()


def cosine_of_pairs(backend, ids):
    rows = [PAIRS[i] for i in ids]
    vectors = backend.embed([r["a"] for r in rows] + [r["b"] for r in rows])
    return np.einsum("ij,ij->i", vectors[: len(rows)], vectors[len(rows) :])


class Counting:
    """Wraps a backend and records every text it is asked to embed."""

    def __init__(self, inner, context_free=True):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.default_threshold = inner.default_threshold
        self.context_free = context_free
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    @property
    def embedded(self):
        return [t for call in self.calls for t in call]


# -- shapes, normalisation, determinism --------------------------------------------------------


def test_shapes_and_unit_rows(local):
    vectors = local.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), local.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert local.embed([]).shape == (0, local.dim)
    assert isinstance(local, embeddings.Backend)


def test_deterministic_and_context_free(local):
    first = local.embed(TEXTS)
    again = local.embed(TEXTS)
    np.testing.assert_array_equal(first, again)
    # A text's vector does not depend on the texts embedded with it.
    alone = np.stack([local.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(alone, first, atol=1e-5)
    reversed_ = local.embed(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(reversed_, first, atol=1e-5)


def test_backend_names_and_thresholds(use):
    tokens_backend = TokenTfidf()
    assert tokens_backend.name == "tokens-tfidf-384" and tokens_backend.dim == 384
    assert tokens_backend.default_threshold == embeddings.TOKENS_THRESHOLD == 0.84
    assert use.name == "use-multilingual-3" and use.dim == 512
    assert use.default_threshold == embeddings.USE_THRESHOLD == 0.90
    assert TokenTfidf(width=1024).embed(["你好"]).shape == (1, 1024)
    assert TokenTfidf(threshold=0.7).default_threshold == 0.7


def test_token_hashing_is_pinned():
    # The buckets are part of the cached vectors' meaning: they must never change silently.
    vectors = TokenTfidf().embed(["你好", "首付大概需要多少钱？"])
    assert np.flatnonzero(vectors[0]).tolist() == [88]
    assert np.flatnonzero(vectors[1]).tolist() == [10, 142, 153, 207, 265]
    # NFKC and case folding: full-width punctuation and case edits are not new tokens.
    a, b = TokenTfidf().embed(["请问，ＡＢＣ小区在哪？", "请问,abc小区在哪?"])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)


def test_empty_text_is_a_unit_vector_similar_only_to_empty_text():
    vectors = TokenTfidf().embed(["", "", "你好"])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)
    assert float(vectors[0] @ vectors[2]) < 0.5


def test_reference_idf_is_frozen_and_named_by_its_fingerprint():
    corpus = [PAIRS[i]["a"] for i in sorted(PAIRS)]
    fitted = TokenTfidf(idf_from=corpus)
    assert fitted.name.startswith("tokens-tfidf-384-idf-") and fitted.name != "tokens-tfidf-384"
    assert TokenTfidf(idf_from=corpus).name == fitted.name
    assert TokenTfidf(idf_from=corpus[:10]).name != fitted.name
    before = fitted.embed(TEXTS[:2])
    np.testing.assert_array_equal(fitted.embed(TEXTS[:2] + corpus[:20])[:2], before)
    np.testing.assert_allclose(np.linalg.norm(before, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        TokenTfidf(idf_from=[])


# -- what the thresholds mean on Chinese pairs -------------------------------------------------


def test_near_duplicates_score_above_the_default_threshold(local):
    scores = cosine_of_pairs(local, NEAR_DUPLICATES)
    assert (scores >= local.default_threshold).all(), dict(
        zip(NEAR_DUPLICATES, scores, strict=True)
    )


def test_hard_negatives_mostly_score_below_the_default_threshold(local):
    scores = cosine_of_pairs(local, HARD_NEGATIVES)
    assert (scores < local.default_threshold).sum() >= len(HARD_NEGATIVES) - 1, dict(
        zip(HARD_NEGATIVES, scores, strict=True)
    )


def test_measured_rates_on_the_whole_pair_file(local):
    # docs/embedding-thresholds.md: at the default threshold, near-duplicate recall and the
    # share of hard negatives called similar, as measured by bench/thresholds.py.
    rates = {"tokens-tfidf-384": (0.84, 0.08), "use-multilingual-3": (1.0, 0.04)}
    recall, hn_fpr = rates[local.name]
    by_label = {}
    for label in ("near_duplicate", "hard_negative"):
        ids = [i for i, r in PAIRS.items() if r["label"] == label]
        by_label[label] = cosine_of_pairs(local, ids) >= np.float32(local.default_threshold)
    assert by_label["near_duplicate"].mean() == pytest.approx(recall, abs=0.021)
    assert by_label["hard_negative"].mean() == pytest.approx(hn_fpr, abs=0.021)


# -- embed_unique: duplicates and the cache ----------------------------------------------------


def test_embed_unique_embeds_each_distinct_text_once():
    backend = Counting(TokenTfidf())
    texts = ["甲", "乙", "甲", "丙", "乙", "甲"]
    vectors = embed_unique(backend, texts)
    assert backend.embedded == ["甲", "乙", "丙"]
    np.testing.assert_array_equal(vectors, TokenTfidf().embed(texts))
    assert vectors.shape == (6, 384)
    assert embed_unique(backend, []).shape == (0, 384)
    assert len(backend.calls) == 1


def test_embed_unique_reads_and_fills_the_cache():
    store: dict[tuple[str, str], np.ndarray] = {}
    gets, puts = [], []

    def cache_get(model, hashes):
        gets.append((model, list(hashes)))
        return {h: store[(model, h)] for h in hashes if (model, h) in store}

    def cache_put(model, vectors):
        puts.append((model, sorted(vectors)))
        for h, v in vectors.items():
            store[(model, h)] = np.asarray(v, dtype="<f4").copy()

    backend = Counting(TokenTfidf())
    texts = ["总结客户需求。", "判断看房意愿。", "总结客户需求。"]
    first = embed_unique(backend, texts, cache_get=cache_get, cache_put=cache_put)
    digest = hashlib.sha256("总结客户需求。".encode()).hexdigest()
    assert ("tokens-tfidf-384", digest) in store
    assert gets[0][0] == "tokens-tfidf-384" and len(gets[0][1]) == 2
    assert len(puts) == 1 and len(puts[0][1]) == 2
    assert backend.embedded == ["总结客户需求。", "判断看房意愿。"]

    # Another version with one new text: only that one is embedded, the rest come from the cache.
    backend.calls.clear()
    second = embed_unique(
        backend,
        ["判断看房意愿。", "提取预算。", "总结客户需求。"],
        cache_get=cache_get,
        cache_put=cache_put,
    )
    assert backend.embedded == ["提取预算。"]
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[2], first[0])
    assert len(store) == 3

    # Everything cached: nothing embedded, nothing stored.
    backend.calls.clear()
    embed_unique(backend, texts, cache_get=cache_get, cache_put=cache_put)
    assert backend.calls == [] and len(puts) == 2


def test_embed_unique_ignores_cached_vectors_of_the_wrong_size():
    backend = Counting(TokenTfidf())

    def cache_get(model, hashes):
        return {h: np.ones(7, dtype=np.float32) for h in hashes}

    vectors = embed_unique(backend, ["你好"], cache_get=cache_get)
    assert backend.embedded == ["你好"] and vectors.shape == (1, 384)


def test_embed_unique_does_not_cache_corpus_dependent_backends():
    backend = Counting(TokenTfidf(), context_free=False)
    touched = []
    embed_unique(
        backend,
        ["甲", "甲"],
        cache_get=lambda *a: touched.append("get") or {},
        cache_put=lambda *a: touched.append("put"),
    )
    assert touched == [] and backend.embedded == ["甲"]


def test_embed_unique_rejects_a_backend_returning_the_wrong_number_of_rows():
    class Broken:
        name, dim, default_threshold = "broken", 2, 0.5

        def embed(self, texts):
            return np.ones((len(texts) + 1, 2), dtype=np.float32)

    with pytest.raises(EmbeddingError):
        embed_unique(Broken(), ["a"])


# -- choosing a backend ------------------------------------------------------------------------


def test_get_backend_names():
    assert isinstance(get_backend("tokens"), TokenTfidf)
    assert isinstance(get_backend("minilm"), UniversalSentenceEncoder)
    assert isinstance(get_backend("use"), UniversalSentenceEncoder)
    assert isinstance(get_backend(" MiniLM "), UniversalSentenceEncoder)
    with pytest.raises(ValueError, match="tokens, minilm .*endpoint:NAME"):
        get_backend("bert")
    with pytest.raises(ValueError, match="unknown embedding endpoint 'nope'.*known: local"):
        get_backend("endpoint:nope", {"local": ("http://127.0.0.1:9/v1", "m", None)})
    with pytest.raises(ValueError):
        get_backend("endpoint:")


def test_endpoint_backend_against_the_fake_server():
    with FakeLLMServer(latency_ms=0) as server:
        backend = get_backend("endpoint:local", {"local": (server.url, "fake-embed", "k")})
        assert backend.name == "endpoint:local:fake-embed"
        assert backend.default_threshold == 0.82 and backend.dim is None
        backend.batch = 2  # five texts: three requests
        vectors = backend.embed(TEXTS)
        assert vectors.shape == (5, 384) and backend.dim == 384 and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(backend.embed(TEXTS[:1])[0], vectors[0], atol=1e-6)
        stats = server.stats()
        assert stats["embedding_requests"] == 4 and stats["embedding_inputs"] == 6

        counting = Counting(backend)
        stored = {}
        embed_unique(
            counting,
            TEXTS + TEXTS,
            cache_get=lambda m, hs: {h: stored[h] for h in hs if h in stored},
            cache_put=lambda m, vs: stored.update(vs),
        )
        assert counting.embedded == TEXTS and len(stored) == 5
        with_threshold = get_backend(
            "endpoint:local", {"local": (server.url, "fake-embed", None, 0.9)}
        )
        assert with_threshold.default_threshold == 0.9


def test_endpoint_failures_are_embedding_errors():
    with FakeLLMServer(latency_ms=0, error_rate=1.0, errors=("500",)) as server:
        backend = OpenAIEmbeddings(server.url, "fake-embed", max_retries=0)
        with pytest.raises(EmbeddingError, match="endpoint:custom:fake-embed"):
            backend.embed(["你好"])
    unreachable = OpenAIEmbeddings("http://127.0.0.1:9/v1", "m", max_retries=0, timeout=5)
    with pytest.raises(EmbeddingError):
        unreachable.embed(["你好"])


# -- offline --------------------------------------------------------------------------------


def test_use_backend_loads_offline_in_a_fresh_process(tmp_path):
    code = NO_NETWORK + textwrap.dedent(
        """
        import numpy as np
        from metrics.embeddings import get_backend

        backend = get_backend("minilm")
        vectors = backend.embed(["首付大概需要多少钱？", "首付大概要多少钱？"])
        print(backend.name, vectors.shape[1], round(float(vectors[0] @ vectors[1]), 2))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    name, dim, similarity = done.stdout.split()
    assert (name, dim) == ("use-multilingual-3", "512")
    assert float(similarity) >= 0.9
    assert not list(Path(tmp_path).glob(".cache/huggingface*"))
