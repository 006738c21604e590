"""metrics.community against a literal transcription of sentence-transformers 6.2's CPU
community_detection (and against ST itself where it is installed: not in CI)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from metrics import community
from metrics.community import TooManyPairs, communities


def st_reference(embeddings, threshold=0.75, min_community_size=10, dtype=np.float32, rescore=None):
    """sentence_transformers.util.community_detection (6.2.0, CPU branch), line by line in
    numpy, with the full similarity matrix (small N only). `rescore(normalized, cos)` may
    rewrite the similarities (to play float rounding that BLAS rarely produces)."""
    embeddings = np.asarray(embeddings, dtype=dtype)
    if len(embeddings) == 0:
        return []
    if embeddings.ndim == 1:
        embeddings = embeddings[None, :]
    if len(embeddings) < min_community_size:
        return []
    threshold = np.float32(threshold)  # torch.tensor(threshold)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    embeddings = embeddings / np.maximum(norms, dtype(1e-12))  # F.normalize
    cos_scores = embeddings @ embeddings.T
    if rescore is not None:
        cos_scores = rescore(embeddings, cos_scores)
    extracted_communities = []
    for i in range(len(embeddings)):
        row = cos_scores[i]
        top_k_values = np.sort(row)[::-1][:min_community_size]
        if top_k_values[-1] >= threshold:
            top_idx_large = np.argsort(-row, kind="stable")  # topk over the whole row
            top_val_large = row[top_idx_large]
            extracted_communities.append(
                (i, top_idx_large[top_val_large >= threshold].astype(np.uint32))
            )
    extracted_communities = sorted(extracted_communities, key=lambda x: len(x[1]), reverse=True)
    unique_communities = []
    used = np.zeros(len(embeddings), dtype=bool)
    for center, comm in extracted_communities:
        if used[center]:
            continue
        non_overlapped_community = comm[~used[comm]]
        if len(non_overlapped_community) >= min_community_size:
            unique_community = [center] + non_overlapped_community[
                non_overlapped_community != center
            ].tolist()
            unique_communities.append(unique_community)
            used[unique_community] = True
    return sorted(unique_communities, key=len, reverse=True)


def assert_same(ours, theirs):
    """Same communities in the same order with the same centres; members compared as sets."""
    assert [frozenset(c) for c in ours] == [frozenset(c) for c in theirs]
    assert [c[0] for c in ours] == [c[0] for c in theirs]
    for c in ours:  # ours: centre first, then ascending index
        assert c[1:] == sorted(c[1:]) and len(set(c)) == len(c)


def planted(seed, n=300, d=24, clusters=20, spread=0.6, duplicates=0.1):
    """Gaussian noise around a few centres, some lone points, some exact duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    label = rng.integers(0, clusters, n)
    x = centres[label] + spread * rng.uniform(0.3, 1.2, (n, 1)) * rng.standard_normal((n, d))
    lone = rng.random(n) < 0.2
    x[lone] = rng.standard_normal((int(lone.sum()), d))
    copies = np.flatnonzero(rng.random(n) < duplicates)
    x[copies] = x[rng.integers(0, n, len(copies))]
    return x.astype(np.float32)


def chain(n, step=0.1, d=8):
    """Points on an arc, `step` radians apart: at threshold 0.99 each is similar to its two
    neighbours only, so nearly every candidate has size 3 (ties everywhere)."""
    angle = np.arange(n) * step
    x = np.zeros((n, d), dtype=np.float32)
    x[:, 0], x[:, 1] = np.cos(angle), np.sin(angle)
    return x


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.82])
def test_planted_clusters_match_st(seed, threshold):
    x = planted(seed)
    ours = communities(x, threshold, max_pairs_per_sample=np.inf, block=64)
    assert_same(ours, st_reference(x, threshold, 1))
    # Every point in exactly one community (min size 1).
    assert sorted(i for c in ours for i in c) == list(range(len(x)))


@pytest.mark.parametrize("seed", range(3))
def test_blocks_do_not_change_the_result(seed):
    x = planted(seed, n=500)
    expected = st_reference(x, 0.82, 1)
    for block in (1, 7, 128, 499, 500, 4096):
        assert_same(communities(x, 0.82, block=block), expected)


@pytest.mark.parametrize("seed", range(4))
def test_many_exact_duplicates(seed):
    rng = np.random.default_rng(100 + seed)
    base = planted(seed, n=120, duplicates=0.0)
    x = base[rng.integers(0, len(base), 400)]  # every row three times or so, scattered
    expected = st_reference(x, 0.82, 1)
    assert_same(communities(x, 0.82), expected)
    # The same without collapsing duplicates (the fallback path) gives the same partition.
    assert_same(
        community._detect(x, np.float32(0.82), 1, 2048, np.inf, 0.82, collapse=False),
        expected,
    )


def not_similar_to_itself(normalized, cos):
    """Rounding at its worst: a vector's similarity to itself (and so to its copies) falls
    below the threshold, while its other similarities stay."""
    cos = cos.copy()
    same = (normalized[:, None, :] == normalized[None, :, :]).all(axis=-1)
    cos[same] = 0.5
    return cos


def test_centre_not_similar_to_itself(monkeypatch):
    # ST puts such a centre first in its community anyway and does not take its copies along:
    # the duplicates cannot collapse then, and communities() redoes the pass without collapsing.
    def fake_pairs(u, thr, block, limit, samples, threshold):
        cos = not_similar_to_itself(u, u @ u.T)
        i, j = np.nonzero(np.triu(cos >= thr))
        return i.astype(np.int32), j.astype(np.int32)

    monkeypatch.setattr(community, "_similar_pairs", fake_pairs)
    for seed in range(3):
        x = planted(seed, n=200, duplicates=0.2)
        expected = st_reference(x, 0.82, 1, rescore=not_similar_to_itself)
        assert_same(communities(x, 0.82), expected)
        for min_size in (2, 3):
            assert_same(
                communities(x, 0.82, min_size=min_size),
                st_reference(x, 0.82, min_size, rescore=not_similar_to_itself),
            )


def test_ties_in_candidate_sizes_go_to_the_lowest_index():
    x = chain(30)
    expected = st_reference(x, 0.99, 1)
    assert_same(communities(x, 0.99), expected)
    assert frozenset(communities(x, 0.99)[0]) == {0, 1, 2}
    rng = np.random.default_rng(7)
    for _ in range(5):
        shuffled = x[rng.permutation(len(x))]
        assert_same(communities(shuffled, 0.99), st_reference(shuffled, 0.99, 1))


def test_ties_with_duplicates():
    # Duplicates make some chain candidates larger; their first copies decide the ties.
    rng = np.random.default_rng(3)
    base = chain(25)
    x = np.concatenate([base, base[[4, 4, 11, 17, 17, 17, 0]]])[rng.permutation(32)]
    assert_same(communities(x, 0.99), st_reference(x, 0.99, 1))


@pytest.mark.parametrize("min_size", [2, 3, 5])
def test_min_size_above_one(min_size):
    for seed in range(3):
        x = planted(seed, n=250)
        assert_same(communities(x, 0.82, min_size=min_size), st_reference(x, 0.82, min_size))
    x = chain(20)
    assert_same(communities(x, 0.99, min_size=min_size), st_reference(x, 0.99, min_size))


def test_small_and_degenerate_inputs():
    assert communities(np.zeros((0, 8), dtype=np.float32)) == []
    assert communities(np.zeros((0,), dtype=np.float32)) == []
    assert communities([[0.3, 0.4]]) == [[0]]
    assert communities(np.array([1.0, 2.0, 3.0])) == [[0]]  # one vector, as ST unsqueezes
    assert communities([[1.0, 0.0]], min_size=2) == []  # fewer points than min_size
    # A zero vector is similar to nothing at a positive threshold: in no community (as ST).
    x = np.array([[1, 0], [0, 0], [1, 0.01], [0, 0], [0, 1]], dtype=np.float32)
    assert_same(communities(x, 0.5), st_reference(x, 0.5, 1))
    assert sorted(map(sorted, communities(x, 0.5))) == [[0, 2], [4]]
    # All identical: one community, centred on the first.
    assert communities(np.ones((6, 4))) == [[0, 1, 2, 3, 4, 5]]
    with pytest.raises(ValueError):
        communities(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        communities(np.zeros((3, 0)))


def test_threshold_is_rounded_to_float32_as_st_does():
    # ST compares float32 similarities with torch.tensor(threshold), a float32: a similarity
    # just below the float64 threshold but equal to its float32 rounding still counts.
    x = np.array([[1.0, 0.0], [0.8, 0.6]], dtype=np.float32)
    similarity = float(np.float32(0.8))
    threshold = similarity + 1e-10
    assert similarity < threshold and np.float32(threshold) == np.float32(similarity)
    assert_same(communities(x, threshold), st_reference(x, threshold, 1))
    assert len(communities(x, threshold)) == 1
    assert len(communities(x.tolist(), threshold)) == 1  # numbers in lists: float32, as torch
    # A float64 array stays float64 (as in ST): 0.8 is below the threshold's float32 rounding.
    x64 = np.array([[1.0, 0.0], [0.8, 0.6]])
    assert_same(communities(x64, threshold), st_reference(x64, threshold, 1, dtype=np.float64))
    assert len(communities(x64, threshold)) == 2


def test_float64_input_is_processed_in_float64():
    x = planted(1, n=200).astype(np.float64)
    assert_same(communities(x, 0.82), st_reference(x, 0.82, 1, dtype=np.float64))


def test_too_many_pairs_for_a_low_threshold():
    rng = np.random.default_rng(0)
    # Prompts that all look alike to the model: one tight cone.
    x = (rng.standard_normal(32) + 0.3 * rng.standard_normal((400, 32))).astype(np.float32)
    with pytest.raises(TooManyPairs) as raised:
        communities(x, 0.3, block=64)
    error = raised.value
    assert isinstance(error, ValueError)
    assert error.pairs > 50 * 400 and error.samples == 400 and error.limit == 50 * 400
    message = str(error)
    assert "per sample" in message and "limit" in message and "threshold" in message
    assert "too low" in message
    # A stricter budget or a sensible threshold: no error.
    assert communities(x, 0.3, max_pairs_per_sample=np.inf)
    with pytest.raises(TooManyPairs):
        communities(planted(0), 0.82, max_pairs_per_sample=0.5)


def test_memory_stays_far_below_n_by_n():
    n, d = 20_000, 64
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((2_000, d))
    x = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.standard_normal((n, d))
    x[rng.random(n) < 0.05] = x[0]
    x = x.astype(np.float32)
    tracemalloc.start()
    try:
        found = communities(x, 0.82, block=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    full = n * n * 4
    # One block of similarities (1024 x N float32) and its mask, a few copies of the input.
    assert peak < 1024 * n * 5 + 40 * n * d * 4 + 2**24
    assert peak < full / 8
    assert sorted(i for c in found for i in c) == list(range(n))
    assert len(found[0]) >= len(found[-1])


@pytest.mark.parametrize("threshold", [0.5, 0.82])
def test_against_sentence_transformers(threshold):
    st_util = pytest.importorskip("sentence_transformers.util")
    for seed in range(3):
        x = planted(seed, n=400)
        theirs = st_util.community_detection(x, threshold=threshold, min_community_size=1)
        assert_same(communities(x, threshold, max_pairs_per_sample=np.inf), theirs)
    x = np.concatenate([chain(20), chain(20)[[3, 3, 9]]])
    theirs = st_util.community_detection(x, threshold=0.99, min_community_size=1)
    assert_same(communities(x, 0.99), theirs)
    # The threshold's float32 rounding, float32 lists and float64 arrays, as ST.
    threshold = float(np.float32(0.8)) + 1e-10
    for pair in ([[1.0, 0.0], [0.8, 0.6]], np.array([[1.0, 0.0], [0.8, 0.6]])):
        theirs = st_util.community_detection(pair, threshold=threshold, min_community_size=1)
        assert_same(communities(pair, threshold), theirs)
