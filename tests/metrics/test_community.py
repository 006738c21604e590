"""metrics.community against a literal transcription of sentence-transformers 6.2's CPU
community_detection (and against ST itself where it is installed: not in CI)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from metrics import community
from metrics.community import communities


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
    for budget in (np.inf, 0.0):  # the fast path, the low-memory path
        assert_same(
            community._detect(x, np.float32(0.82), 1, 2048, budget, 2 * budget, collapse=False),
            expected,
        )


def not_similar_to_itself(normalized, cos):
    """Rounding at its worst: a vector's similarity to itself (and so to its copies) falls
    below the threshold, while its other similarities stay."""
    cos = cos.copy()
    same = (normalized[:, None, :] == normalized[None, :, :]).all(axis=-1)
    cos[same] = 0.5
    return cos


@pytest.mark.parametrize("budget", [50.0, 0.5, 0.0])
def test_centre_not_similar_to_itself(monkeypatch, budget):
    # ST puts such a centre first in its community anyway and does not take its copies along:
    # the duplicates cannot collapse then, and communities() redoes the pass without collapsing.
    # Every path (pairs, degrees, stored lists, rows on demand) reads the same products.
    def fake_scores(a, b, out):
        np.matmul(a, b.T, out=out)
        out[(a[:, None, :] == b[None, :, :]).all(axis=-1)] = 0.5
        return out

    monkeypatch.setattr(community, "_scores", fake_scores)
    for seed in range(3):
        x = planted(seed, n=200, duplicates=0.2)
        expected = st_reference(x, 0.82, 1, rescore=not_similar_to_itself)
        assert_same(communities(x, 0.82, max_pairs_per_sample=budget, block=64), expected)
        for min_size in (2, 3):
            assert_same(
                communities(x, 0.82, min_size=min_size, max_pairs_per_sample=budget),
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


def near_identical(n=3000, d=64, seed=0, noise=0.1):
    """Embeddings of prompts that differ only in an id number (the paper's v0.5 case): one
    direction and a little noise, every pair near 0.99, far above any threshold."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(d) + noise * rng.standard_normal((n, d))).astype(np.float32)


def dense_blobs(seed, n=1500, d=32):
    """Five dense blobs at 0.82 (two overlapping; the tightest all similar to one another, the
    loosest only partly), 15 % scattered points, exact duplicates and near-duplicates (one
    component one float32 step off) of other rows."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((5, d))
    centres[1] = centres[0] + 0.6 * rng.standard_normal(d)  # cosine ~0.86 with blob 0
    spread = np.array([0.1, 0.3, 0.45, 0.5, 0.2])
    label = rng.integers(0, 5, n)
    x = centres[label] + spread[label, None] * rng.standard_normal((n, d))
    lone = rng.random(n) < 0.15
    x[lone] = rng.standard_normal((int(lone.sum()), d))
    x = x.astype(np.float32)
    copies = np.flatnonzero(rng.random(n) < 0.05)
    x[copies] = x[rng.integers(0, n, len(copies))]
    near = np.flatnonzero(rng.random(n) < 0.05)
    x[near] = x[rng.integers(0, n, len(near))]
    x[near, 0] = np.nextafter(x[near, 0], np.float32(np.inf))
    return x


@pytest.fixture
def paths(monkeypatch):
    """How many times the low-memory path ran, how many batches of rows it computed on demand,
    and the graphs (stored neighbour lists) the greedy step walked."""
    seen = {"low_memory": 0, "rows": 0, "graphs": []}
    low_memory, graph, compute = community._low_memory, community._graph, community._Rows._compute

    def spy_low_memory(*args):
        seen["low_memory"] += 1
        return low_memory(*args)

    def spy_graph(*args):
        seen["graphs"].append(graph(*args))
        return seen["graphs"][-1]

    def spy_compute(self, used):
        seen["rows"] += 1
        return compute(self, used)

    monkeypatch.setattr(community, "_low_memory", spy_low_memory)
    monkeypatch.setattr(community, "_graph", spy_graph)
    monkeypatch.setattr(community._Rows, "_compute", spy_compute)
    return seen


def test_near_identical_prompts_give_one_community_in_bounded_memory(paths):
    # 3,000 prompts that differ only in an id number: 4.5 million similar pairs, which the
    # pair pass used to refuse (TooManyPairs). Now one community, as ST, in one block's memory.
    n, d, block = 3000, 64, 256
    x = near_identical(n, d)
    tracemalloc.start()
    try:
        found = communities(x, 0.84, block=block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == [list(range(n))]  # all sizes equal: ST's centre is the first
    assert len(found) / n <= 0.01  # richness 1/3000, redundancy 0.9997
    # Every point is dense: no list stored, one row computed (the first centre takes all).
    assert paths["low_memory"] == 1 and paths["rows"] == 1
    assert paths["graphs"][0].dense.all() and len(paths["graphs"][0].indices) == 0
    all_pairs = n * (n - 1) // 2 * 8  # the similar pairs as int32 (i, j): 36 MB
    # One block of scores and two masks (6 bytes a cell), a few copies of the vectors.
    assert peak < block * n * 6 + 8 * n * d * 4 + 2**20
    assert peak < all_pairs / 5


@pytest.mark.parametrize("seed", range(3))
def test_dense_blobs_match_st_on_every_path(seed, paths):
    x = dense_blobs(seed)
    expected = st_reference(x, 0.82, 1)
    results = []
    # Over the default budget; a cap of 10 (dense and sparse points); everything dense;
    # no budget at all (the fast path keeps every pair).
    for budget in (50.0, 5.0, 0.0, np.inf):
        for block in (97, 2048):
            results.append(communities(x, 0.82, max_pairs_per_sample=budget, block=block))
            assert_same(results[-1], expected)
    assert all(r == results[0] for r in results)  # the same lists, not only the same sets
    assert paths["low_memory"] == 6 and paths["rows"] > 6
    for min_size in (2, 5):
        assert_same(
            communities(x, 0.82, min_size=min_size, max_pairs_per_sample=1.0),
            st_reference(x, 0.82, min_size),
        )


def test_stored_lists_stay_within_the_cap(paths):
    x = dense_blobs(0)
    assert_same(communities(x, 0.82, max_pairs_per_sample=5.0), st_reference(x, 0.82, 1))
    (graph,) = paths["graphs"]
    stored = np.diff(graph.indptr)
    assert paths["low_memory"] == 1
    assert stored.max() <= 10 and not stored[graph.dense].any()
    # The lists kept are complete: each point's whole neighbourhood.
    assert (stored[~graph.dense] == graph.degree[~graph.dense]).all()
    assert graph.dense.sum() > 1000 and (stored > 1).sum() > 50  # blob and scattered points


@pytest.mark.parametrize("threshold", [-1.0, 0.0, 0.05])
def test_a_threshold_so_low_everything_is_one_blob(threshold):
    x = planted(0, n=400)
    expected = st_reference(x, threshold, 1)
    for budget in (50.0, 0.5, 0.0, np.inf):
        assert_same(communities(x, threshold, max_pairs_per_sample=budget, block=64), expected)
    if threshold == -1.0:
        assert communities(x, threshold) == [list(range(400))]


def test_a_low_threshold_gives_sts_partition_not_an_error():
    rng = np.random.default_rng(0)
    # Prompts that all look alike to the model: one tight cone (it used to raise TooManyPairs).
    x = (rng.standard_normal(32) + 0.3 * rng.standard_normal((400, 32))).astype(np.float32)
    expected = st_reference(x, 0.3, 1)
    for budget in (50.0, 0.5, 0.0, np.inf):
        assert_same(communities(x, 0.3, block=64, max_pairs_per_sample=budget), expected)
    assert not hasattr(community, "TooManyPairs")
    with pytest.raises(ValueError):
        communities(x, 0.3, max_pairs_per_sample=-1.0)


def test_dense_chain_computes_rows_in_batches(paths):
    # 2,000 points on an arc, each similar to ~280 neighbours, sizes tied all along: every
    # point is dense, most centres are used before their turn, a few form communities.
    x = chain(2000, step=0.001)
    rng = np.random.default_rng(1)
    x = np.concatenate([x, x[rng.integers(0, 2000, 100)]])[rng.permutation(2100)]
    expected = st_reference(x, 0.99, 1)
    assert_same(communities(x, 0.99), expected)
    assert paths["low_memory"] == 1 and 1 < paths["rows"] < 100
    assert communities(x, 0.99) == communities(x, 0.99, max_pairs_per_sample=np.inf)


def test_many_dense_blobs_each_their_own_row():
    # 40 tight blobs of 50, interleaved: each blob's first member is a dense centre of its own.
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((40, 48))
    x = (centres[rng.integers(0, 40, 2000)] + 0.05 * rng.standard_normal((2000, 48))).astype(
        np.float32
    )
    expected = st_reference(x, 0.82, 1)
    assert len(expected) == 40
    for budget in (50.0, 5.0, 0.0):
        assert_same(communities(x, 0.82, max_pairs_per_sample=budget, block=300), expected)


def rotated_chain(n, step, d=384, seed=0):
    """`chain` turned by a random rotation in d dimensions: every pair (i, i + k) has the same
    exact similarity cos(k step), which the float32 products round either way."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return (chain(n, step, d=d).astype(np.float64) @ q.T).astype(np.float32)


@pytest.mark.parametrize("k", [3, 17, 40])
def test_pairs_at_the_threshold_fall_on_the_same_side_on_every_path(k):
    # The threshold is a similarity shared by hundreds of pairs: each product (a block of any
    # size, a row on demand, BLAS' kernels) may round them either way; the exact re-check
    # decides them, so every path and block size gives the same lists.
    x = rotated_chain(500, 0.003)
    u = community._normalize(x).astype(np.float64)  # the very vectors the exact check reads
    exact = u @ u.T
    threshold = float(np.float32(exact[0, k]))
    assert np.count_nonzero(np.abs(exact - threshold) < 1e-6) > 200
    expected = st_reference(x, threshold, 1, rescore=lambda normalized, cos: exact)
    first = communities(x, threshold)
    assert_same(first, expected)
    for budget in (50.0, 2.0, 0.0, np.inf):
        for block in (1, 64, 499, 2048):
            assert communities(x, threshold, max_pairs_per_sample=budget, block=block) == first


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


def test_dense_cases_against_sentence_transformers():
    st_util = pytest.importorskip("sentence_transformers.util")

    def theirs(x, threshold):
        return st_util.community_detection(x, threshold=threshold, min_community_size=1)

    x = near_identical(3000, 384)
    assert_same(communities(x, 0.84), theirs(x, 0.84))
    for seed in range(2):
        x = dense_blobs(seed)
        for budget in (50.0, 0.5):
            assert_same(communities(x, 0.82, max_pairs_per_sample=budget), theirs(x, 0.82))
    x = chain(2000, step=0.001)
    assert_same(communities(x, 0.99), theirs(x, 0.99))
    x = planted(0, n=400)
    for threshold in (-1.0, 0.05):
        assert_same(communities(x, threshold), theirs(x, threshold))
