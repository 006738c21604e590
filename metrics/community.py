"""Community detection over embeddings (the paper's richness, §3.3), pure numpy (no Django).

`communities(vectors, threshold)` returns exactly the partition that sentence-transformers 6.2's
`util.community_detection(vectors, threshold=threshold, min_community_size=min_size)` returns
(CPU path), the behaviour pinned here:

1. every vector is L2-normalised (x / max(|x|, 1e-12), as torch's `F.normalize`); a pair's
   similarity is the dot product of the normalised vectors, compared with the threshold rounded
   to float32 (ST compares with `torch.tensor(threshold)`, a float32);
2. every point i with at least `min_size` points j (i itself included) at similarity >= threshold
   is a candidate, centre i, members those j;
3. candidates are taken largest first (Python's stable sort: equal sizes by the lower centre
   index); a candidate whose centre is already used is skipped; otherwise its members not yet
   used form a community if there are at least `min_size` of them (the centre is put first,
   added if it was not among them), and they are marked used;
4. the communities are returned largest first, equal sizes in the order step 3 formed them.

With min_size 1 every point is in exactly one community (a zero vector, similar to nothing at a
threshold above 0, is in none). The communities and their order are ST's; inside a community the
centre comes first and the other members follow in ascending index (ST orders them by
decreasing similarity): compare members as sets.

How it differs from ST's loop, with the same result:

- exact duplicate vectors (byte-identical rows) collapse before the pairwise pass and expand at
  the end: a duplicate has the same similarities as its original, so a candidate's size counts
  the copies, the copies of a centre come with it, and ties still go to the lowest original
  index (the first copy's candidate comes first, the later copies' are skipped as used);
- the pairwise pass works on blocks of `block` rows against the rows from the block on (the
  upper triangle: the similarity is symmetric, half the products), keeps only the pairs at or
  above the threshold as int32 index arrays, and never holds more than `block` x N similarities
  (plus as many bytes of mask): memory is about 5 * block * N bytes (block 1024 halves it at
  the same speed) plus a few tens of bytes a similar pair;
- the greedy step walks sparse rows (CSR) with a boolean `used` mask; a point similar to nothing
  but itself (and its copies) forms its own community without entering that loop.

Numerics: the products are float32 matrix products (numpy's BLAS), as ST's are torch's float32
products (MKL on x86); a pair's similarity is computed once (i <= j) and used both ways.
Different BLAS libraries sum in different orders, so a similarity may differ in its last bits
(about 1e-7, at most ~1e-6 for 384 dimensions): a pair whose similarity lies within ~1e-6 of the
threshold may fall on the other side in ST, and then the partitions may differ around it. A
float64 array is processed in float64 (as ST does with it), anything else in float32 (lists of
numbers too: torch.tensor makes them float32).

The pair pass stops with `TooManyPairs` as soon as the similar pairs exceed
`max_pairs_per_sample` per sample (counted as distinct unordered pairs of distinct vectors):
the threshold is then too low for the embedding model, and the result would be one blob anyway.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TooManyPairs", "communities"]


class TooManyPairs(ValueError):
    """The similar pairs exceed the budget: the threshold is too low for this embedding."""

    def __init__(self, pairs: int, samples: int, limit: float, threshold: float):
        self.pairs = pairs
        self.samples = samples
        self.limit = limit
        self.threshold = threshold
        per_sample = pairs / samples if samples else float(pairs)
        super().__init__(
            f"community detection stopped: at least {pairs:,} pairs of vectors have a cosine "
            f"similarity >= {threshold:g}, {per_sample:.1f} per sample over {samples:,} samples, "
            f"above the limit of {limit:,.0f} pairs ({limit / max(samples, 1):g} per sample). "
            "The threshold is probably too low for this embedding model: raise it."
        )


def communities(
    vectors: np.ndarray,
    threshold: float = 0.82,
    *,
    min_size: int = 1,
    block: int = 2048,
    max_pairs_per_sample: float = 50.0,
) -> list[list[int]]:
    """Communities of `vectors` (N x D) at cosine `threshold`, as ST 6.2's community_detection.

    Returns lists of row indices, largest community first; in each, the centre first and then
    the other members in ascending index. Raises `TooManyPairs` when the similar pairs exceed
    `max_pairs_per_sample` * N, ValueError on non-finite values or zero-width vectors.
    """
    x = np.asarray(vectors)
    if x.size == 0 and x.ndim <= 1:
        return []
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"vectors must be N x D, got shape {x.shape}")
    n = x.shape[0]
    if n == 0 or n < min_size:
        return []
    if x.shape[1] == 0:
        raise ValueError("vectors have dimension 0")
    if block < 1:
        raise ValueError("block must be at least 1")
    # As ST's conversion to a tensor: arrays keep float64, numbers in lists become float32.
    arrays = isinstance(vectors, np.ndarray) or (
        isinstance(vectors, list | tuple)
        and len(vectors) > 0
        and all(isinstance(v, np.ndarray) for v in vectors)
    )
    dtype = np.float64 if arrays and x.dtype == np.float64 else np.float32
    x = np.ascontiguousarray(x, dtype=dtype)
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    min_size = max(int(min_size), 1)
    # ST compares with torch.tensor(threshold): the threshold rounded to float32.
    thr = dtype(np.float32(threshold))
    limit = float(max_pairs_per_sample) * n  # a float: inf disables the limit

    result = _detect(x, thr, min_size, block, limit, threshold, collapse=True)
    if result is None:  # a duplicated vector not similar to itself: do without collapsing
        result = _detect(x, thr, min_size, block, limit, threshold, collapse=False)
    return result


def _detect(x, thr, min_size, block, limit, threshold, *, collapse):
    n = x.shape[0]
    if collapse:
        first, inverse, counts = _collapse(x)
        u = _normalize(x[first])
    else:
        first = np.arange(n)
        inverse = np.arange(n)
        counts = np.ones(n, dtype=np.int64)
        u = _normalize(x)
    nu = len(u)

    pi, pj = _similar_pairs(u, thr, block, limit, n, threshold)

    # Symmetric sparse neighbourhoods (CSR): each off-diagonal pair both ways, self pairs once.
    self_pair = pi == pj
    has_self = np.zeros(nu, dtype=bool)
    has_self[pi[self_pair]] = True
    oi, oj = pi[~self_pair], pj[~self_pair]
    src = np.concatenate([pi, oj])
    dst = np.concatenate([pj, oi])
    order = np.argsort(src, kind="stable")
    indices = dst[order]
    degree = np.bincount(src, minlength=nu)
    indptr = np.zeros(nu + 1, dtype=np.int64)
    np.cumsum(degree, out=indptr[1:])
    # A candidate's size counts the copies of its members.
    size = np.bincount(src, weights=counts[dst], minlength=nu).astype(np.int64)
    del src, dst, order, oi, oj, pi, pj, self_pair

    if collapse and np.any((counts > 1) & ~has_self & (degree > 0)):
        return None

    # Candidates largest first, equal sizes by the lower centre (unique ids follow first index).
    by_size = np.argsort(-size, kind="stable")
    by_size = by_size[size[by_size] >= min_size]  # degree 0 has size 0
    rank = np.empty(nu, dtype=np.int64)
    rank[by_size] = np.arange(len(by_size))
    isolated = (degree == 1) & has_self  # similar only to itself (and its copies)

    label = np.full(nu, -1, dtype=np.int64)
    used = np.zeros(nu, dtype=bool)
    centres: list[int] = []
    ranks: list[int] = []
    walk = by_size[~isolated[by_size]]
    walk_rank = rank[walk].tolist()
    for c, r in zip(walk.tolist(), walk_rank, strict=True):
        if used[c]:
            continue
        members = indices[indptr[c] : indptr[c + 1]]
        free = members[~used[members]]
        if not len(free) or (min_size > 1 and counts[free].sum() < min_size):
            continue
        label[free] = len(centres)
        label[c] = len(centres)
        used[free] = True
        used[c] = True
        centres.append(c)
        ranks.append(r)
    # Isolated points are claimed by nobody else: each forms its own community.
    alone = by_size[isolated[by_size]]
    label[alone] = np.arange(len(centres), len(centres) + len(alone))
    centre_of = np.concatenate([np.asarray(centres, dtype=np.int64), alone])
    rank_of = np.concatenate([np.asarray(ranks, dtype=np.int64), rank[alone]])
    n_comm = len(centre_of)
    if n_comm == 0:
        return []

    # Largest first, equal sizes in the order they formed (ST's final stable sort).
    member_label = label[inverse]
    lengths = np.bincount(member_label[member_label >= 0], minlength=n_comm)
    final = np.lexsort((rank_of, -lengths))
    position = np.empty(n_comm, dtype=np.int64)
    position[final] = np.arange(n_comm)

    # Expand to original indices: per community the centre's first copy, then ascending index.
    kept = np.flatnonzero(member_label >= 0)
    comm = position[member_label[kept]]
    not_centre = kept != first[centre_of[member_label[kept]]]
    order = np.lexsort((kept, not_centre, comm))
    flat = kept[order].tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths[final])]).tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _collapse(x: np.ndarray):
    """Byte-identical rows: (first index of each distinct row in first-seen order, row -> distinct
    id, copies of each)."""
    rows = x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(
        rows, return_index=True, return_inverse=True, return_counts=True
    )
    by_first = np.argsort(first, kind="stable")
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[by_first] = np.arange(len(first))
    return first[by_first], renumber[inverse.ravel()], counts[by_first].astype(np.int64)


def _normalize(x: np.ndarray) -> np.ndarray:
    """x / max(|x|, 1e-12) per row, as torch's F.normalize (norm summed in float64, rounded)."""
    norm = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(x.dtype)
    return np.ascontiguousarray(x / np.maximum(norm, x.dtype.type(1e-12))[:, None])


def _similar_pairs(u, thr, block, limit, samples, threshold):
    """Pairs (i <= j) of rows of `u` with u[i] . u[j] >= thr, self pairs included, as int32
    arrays in row-major order; block rows against the rows from the block on."""
    nu = len(u)
    block = min(block, nu)
    sims = np.empty(block * nu, dtype=u.dtype)
    words = -(-block * nu // 8)
    mask = np.zeros(words * 8, dtype=bool)
    lane = np.arange(8)
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    pairs = 0
    for start in range(0, nu, block):
        stop = min(start + block, nu)
        rows, width = stop - start, nu - start
        cells = rows * width
        s = sims[:cells].reshape(rows, width)
        np.matmul(u[start:stop], u[start:].T, out=s)
        np.greater_equal(s, thr, out=mask[:cells].reshape(rows, width))
        used_words = -(-cells // 8)
        mask[cells : used_words * 8] = False
        # Hits are rare: find the non-zero 8-byte words first, then the bytes inside them.
        hit_words = np.flatnonzero(mask[: used_words * 8].view(np.uint64))
        # At most rows * (rows + 1) / 2 hits are self pairs or below the diagonal: past that,
        # the hits are pairs; stop before expanding more than the budget.
        lower = rows * (rows + 1) // 2
        if pairs + len(hit_words) - lower > limit:
            raise TooManyPairs(pairs + len(hit_words) - lower, samples, limit, threshold)
        in_word = mask[: used_words * 8].reshape(-1, 8)[hit_words]
        hits = int(np.count_nonzero(in_word))
        if pairs + hits - lower > limit:
            raise TooManyPairs(pairs + hits - lower, samples, limit, threshold)
        w, b = np.nonzero(in_word)
        flat = hit_words[w] * 8 + lane[b]
        r, c = np.divmod(flat, width)
        upper = c >= r
        r, c = r[upper], c[upper]
        pairs += int(np.count_nonzero(c != r))
        if pairs > limit:
            raise TooManyPairs(pairs, samples, limit, threshold)
        found_i.append((r + start).astype(np.int32))
        found_j.append((c + start).astype(np.int32))
    return np.concatenate(found_i), np.concatenate(found_j)
