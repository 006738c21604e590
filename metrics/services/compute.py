"""The one place where a dataset's quality metrics are computed, for a version and for the
`quality_metrics` command: Qwen tokens (counts cached by tokenizer and text hash), the chosen
embedding backend (vectors cached by model and text hash), community detection at the
backend's threshold."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from curation.llm import tokens
from curation.models import ModelEndpoint, Project
from curation.services.llm import endpoint_config
from metrics import community, embeddings, quality
from metrics.models import EmbeddingCache, TokenCount
from metrics.services.bulk import rows_copy


def backend_for(spec: str, *, project: Project | None = None):
    """The embedding backend named `tokens`, `minilm` or `endpoint:NAME` (NAME: an endpoint of
    the project, or any endpoint by that name when there is no project)."""
    mapping = {}
    if spec.startswith("endpoint:"):
        name = spec.split(":", 1)[1]
        found = ModelEndpoint.objects.filter(name=name)
        if project is not None:
            found = found.filter(project=project)
        endpoint = found.first()
        if endpoint is None:
            raise ValueError(f"no endpoint named {name!r}")
        config = endpoint_config(endpoint)
        mapping[name] = (config.base_url, endpoint.model, config.api_key)
    return embeddings.get_backend(spec, mapping)


CHUNK = 5000  # hashes looked up per query


def _cache_get(model: str, hashes: list[str]) -> dict[str, np.ndarray]:
    rows = EmbeddingCache.objects.filter(model=model, text_hash__in=hashes)
    return {
        h: np.frombuffer(bytes(v), dtype="<f4")
        for h, v in rows.values_list("text_hash", "vector").iterator(chunk_size=CHUNK)
    }


def _cache_put(model: str, vectors: dict[str, np.ndarray]) -> None:
    rows_copy(
        model=EmbeddingCache,
        fields=["model", "text_hash", "vector"],
        rows=((model, h, v.astype("<f4").tobytes()) for h, v in vectors.items()),
        ignore_conflicts=True,
    )


def counts_cached(texts: Sequence[str]) -> list[int]:
    """The Qwen tokens of each text; each distinct text tokenised once, ever (the cache)."""
    texts = list(texts)
    hashes = {t: text_hash(t) for t in dict.fromkeys(texts)}
    known: dict[str, int] = {}
    wanted = list(hashes.values())
    for start in range(0, len(wanted), CHUNK):
        known.update(
            TokenCount.objects.filter(
                tokenizer=tokens.TOKENIZER_NAME, text_hash__in=wanted[start : start + CHUNK]
            ).values_list("text_hash", "count")
        )
    missing = [t for t, h in hashes.items() if h not in known]
    if missing:
        counted = dict(zip((hashes[t] for t in missing), tokens.count_many(missing), strict=True))
        rows_copy(
            model=TokenCount,
            fields=["tokenizer", "text_hash", "count"],
            rows=((tokens.TOKENIZER_NAME, h, n) for h, n in counted.items()),
            ignore_conflicts=True,
        )
        known.update(counted)
    return [known[hashes[t]] for t in texts]


def vectors_cached(backend, texts: Sequence[str]) -> np.ndarray:
    """One unit row per text; each distinct text embedded once, ever, per model (the cache)."""
    return embeddings.embed_unique(backend, texts, cache_get=_cache_get, cache_put=_cache_put)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def metrics_compute(
    rows: Sequence[quality.Row],
    *,
    embedding: str = "tokens",
    threshold: float | None = None,
    top_n: int = 1,
    project: Project | None = None,
) -> dict:
    backend = backend_for(embedding, project=project)
    chosen = backend.default_threshold if threshold is None else float(threshold)
    result = quality.compute(
        rows,
        count_tokens=counts_cached,
        embed=lambda texts: vectors_cached(backend, texts),
        find_communities=lambda vectors, t: community.communities(vectors, t),
        threshold=chosen,
        top_n=top_n,
    )
    result["embedding"] = backend.name
    result["tokenizer"] = tokens.TOKENIZER_NAME
    return result
