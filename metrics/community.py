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

How it differs from ST's loop, with the same result, for any input (richness never fails):

- exact duplicate vectors (byte-identical rows) collapse before the pairwise pass and expand at
  the end: a duplicate has the same similarities as its original, so a candidate's size counts
  the copies, the copies of a centre come with it, and ties still go to the lowest original
  index (the first copy's candidate comes first, the later copies' are skipped as used);
- ordinary data (the fast path, `_similar_pairs`): one pass over blocks of `block` rows against
  the rows from the block on (the upper triangle: the similarity is symmetric, half the
  products) keeps the similar pairs as int32 index arrays while they stay within
  `max_pairs_per_sample` per sample; the greedy step then walks them as sparse rows (CSR);
- past that budget (near-identical prompts: one blob of millions of pairs) the exact low-memory
  path goes on from the block where the budget ran out (`_low_memory`): per block, the row and
  column sums of the similarity mask give each point's neighbour count and candidate size so
  far (O(N) memory), and only the pairs of points still within 2 * `max_pairs_per_sample`
  neighbours are kept; at the end the lists of the denser points are dropped (each had kept at
  most that cap). The greedy step computes a dense centre's row when it reaches it (`_Rows`: a
  product against all distinct vectors, the next few free dense centres together, the batch
  growing while no row is wasted): for near-identical prompts one row, since the first centre
  takes everything. Both paths decide every pair the same way (see Numerics), so the result
  does not depend on the budget.

Memory, N samples of D dimensions: the vectors (input, float copy, normalised distinct rows:
3 N D words), O(N) index arrays, the kept pairs (at most max_pairs_per_sample * N from the fast
pass plus 2 * max_pairs_per_sample * N neighbours after it, ~24 bytes each with the CSR's sort)
and one block: `block` x N scores (4 or 8 bytes) plus three bytes of masks a cell; the greedy's
batch of rows is no larger. So O(N (cap + D) + block N), never N x N: whatever the data, the
result comes in bounded memory (block 2048, N 80,000: about 1 GiB; 256 rows: an eighth).

Numerics: the products are float32 matrix products (numpy's BLAS), as ST's are torch's float32
products. Any float32 dot product of length D lies within gamma_D = D u / (1 - D u) (u = 2^-24)
of the exact one (times |a||b|, about 1), whatever the summation order; so a pair's product
decides it only outside that band around the threshold. Inside it (rare: under a thousand of
the 3.2 billion pairs of 80,000 prompts at 0.82), the pair is re-checked by its exact
similarity: float64 products of the float32 normalised vectors, summed in a fixed order
(`_exact`). A pair thus falls on the same side whichever product computed it (a block, a row on
demand, another block size, any BLAS): the result does not depend on the path or the blocks.
ST decides by its own float32 rounding (MKL's order), so a pair within ~1e-6 of the threshold
may fall on the other side in ST, and then the partitions may differ around it. A float64
array is processed in float64 (as ST does with it; the band is then ~1e-13), anything else in
float32 (lists of numbers too: torch.tensor makes them float32).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["communities"]

_EXACT_CHUNK = 2048  # pairs re-checked at a time: 2 x D x 2048 float64 of scratch
_WORD_CHUNK = 1 << 16  # 8-byte mask words expanded at a time inside the band


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
    the other members in ascending index. `max_pairs_per_sample` only chooses the path (pairs
    kept in the fast pass; 2x that is the neighbour cap of the low-memory path), never the
    result. ValueError on non-finite values or zero-width vectors.
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
    per_sample = float(max_pairs_per_sample)
    if not per_sample >= 0:
        raise ValueError("max_pairs_per_sample must be >= 0")
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
    budget = per_sample * n  # a float: inf keeps the fast path whatever comes
    cap = 2 * per_sample

    result = _detect(x, thr, min_size, block, budget, cap, collapse=True)
    if result is None:  # a duplicated vector not similar to itself: do without collapsing
        result = _detect(x, thr, min_size, block, budget, cap, collapse=False)
    return result


@dataclass(frozen=True)
class _Cut:
    """The threshold and its rounding band: below `lo` a product is certainly under the
    threshold, from `hi` certainly at or above it, in between `_exact` decides."""

    thr: np.floating
    lo: np.floating
    hi: np.floating


@dataclass
class _Graph:
    """Each distinct vector's neighbourhood: candidate size (copies counted), neighbours (itself
    included when similar to itself), and the stored lists (CSR); a dense point's list is not
    stored, the greedy step computes it when it needs it."""

    size: np.ndarray
    degree: np.ndarray
    has_self: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    dense: np.ndarray


def _detect(x, thr, min_size, block, budget, cap, *, collapse):
    n = x.shape[0]
    if collapse:
        first, inverse, counts = _collapse(x)
        u = _normalize(x[first])
    else:
        first = np.arange(n)
        inverse = np.arange(n)
        counts = np.ones(n, dtype=np.int64)
        u = _normalize(x)
    cut = _cut(thr, u)
    graph = _graph(u, counts, cut, block, budget, cap)
    if collapse and np.any((counts > 1) & ~graph.has_self & (graph.degree > 0)):
        return None
    label, centre_of, rank_of = _greedy(u, graph, counts, cut, min_size, block)
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


def _cut(thr: np.floating, u: np.ndarray) -> _Cut:
    """The band outside which any product of two rows of `u` decides on the right side: the
    products' error bound (any order, FMA or not, underflow included) plus `_exact`'s, with a
    margin, rounded outwards to the working precision."""
    dtype = u.dtype.type
    d = u.shape[1]

    def gamma(unit: float) -> float:
        return d * unit / (1 - d * unit) if d * unit < 0.5 else np.inf

    largest = float(np.einsum("ij,ij->i", u, u, dtype=np.float64).max(initial=0.0))
    info = np.finfo(dtype)
    eps = 1.01 * (gamma(float(info.eps) / 2) + gamma(2.0**-53)) * largest
    eps += 2 * d * float(info.tiny)
    centre = float(thr)
    lo, hi = dtype(centre - eps), dtype(centre + eps)
    while lo > centre - eps:
        lo = np.nextafter(lo, dtype(-np.inf))
    while hi < centre + eps:
        hi = np.nextafter(hi, dtype(np.inf))
    return _Cut(thr=thr, lo=lo, hi=hi)


def _scores(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """a @ b.T into `out`: every similarity is computed here (a later bf16 screen or a remote
    tile would replace this one function; `_Cut` then needs that screen's band)."""
    return np.matmul(a, b.T, out=out)


def _exact(u: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The similarity of rows i[k] and j[k] in float64, the same bits whoever asks and in
    whichever order of i and j: the products (exact for float32 rows) are summed dimension by
    dimension, in order, never by a BLAS kernel of its own choosing."""
    out = np.empty(len(i), dtype=np.float64)
    for a in range(0, len(i), _EXACT_CHUNK):
        b = a + _EXACT_CHUNK
        prod = np.multiply(u[i[a:b]].T, u[j[a:b]].T, dtype=np.float64, order="C")
        acc = prod[0].copy()
        for k in range(1, len(prod)):
            acc += prod[k]
        out[a:b] = acc
    return out


def _similar_pairs(u, cut, block, budget):
    """Pairs (i <= j) of similar rows of `u`, self pairs included, as int32 arrays in row-major
    order; block rows against the rows from the block on. Returns (i, j, resume): resume is N,
    or the first row of the block where the pairs of distinct rows went past `budget` (the
    pairs are then those of the rows before it, and the low-memory path goes on from there)."""
    nu = len(u)
    block = min(block, nu)
    sims = np.empty(block * nu, dtype=u.dtype)
    words = -(-block * nu // 8)
    mask = np.zeros(words * 8, dtype=bool)
    lane = np.arange(8)
    found_i: list[np.ndarray] = [np.empty(0, dtype=np.int32)]
    found_j: list[np.ndarray] = [np.empty(0, dtype=np.int32)]
    pairs = 0
    for start in range(0, nu, block):
        stop = min(start + block, nu)
        rows, width = stop - start, nu - start
        cells = rows * width
        s = _scores(u[start:stop], u[start:], sims[:cells].reshape(rows, width))
        np.greater_equal(s, cut.lo, out=mask[:cells].reshape(rows, width))
        used_words = -(-cells // 8)
        mask[cells : used_words * 8] = False
        # Hits are rare: find the non-zero 8-byte words first, then the bytes inside them.
        hit_words = np.flatnonzero(mask[: used_words * 8].view(np.uint64))
        # At most rows * (rows + 1) / 2 hits are self pairs or below the diagonal: past that,
        # the hits are pairs; hand over before expanding more than the budget.
        lower = rows * (rows + 1) // 2
        if pairs + len(hit_words) - lower > budget:
            break
        in_word = mask[: used_words * 8].reshape(-1, 8)[hit_words]
        if pairs + int(np.count_nonzero(in_word)) - lower > budget:
            break
        w, b = np.nonzero(in_word)
        flat = hit_words[w] * 8 + lane[b]
        del w, b, in_word, hit_words
        r, c = np.divmod(flat, width)
        upper = c >= r
        flat, r, c = flat[upper], r[upper], c[upper]
        unsure = np.flatnonzero(sims[flat] < cut.hi)
        if len(unsure):
            similar = _exact(u, r[unsure] + start, c[unsure] + start) >= cut.thr
            keep = np.ones(len(r), dtype=bool)
            keep[unsure[~similar]] = False
            r, c = r[keep], c[keep]
        pairs += int(np.count_nonzero(c != r))
        if pairs > budget:
            break
        found_i.append((r + start).astype(np.int32))
        found_j.append((c + start).astype(np.int32))
    else:
        start = nu
    return np.concatenate(found_i), np.concatenate(found_j), start


def _decide(u, rows, col0, s, mask, band, cut) -> np.ndarray:
    """The decisions for the scores `s` of rows `rows` of `u` against the rows from `col0` on,
    into the flat bool buffer `mask` (reshaped like `s` and returned); `band` is scratch of the
    same length (both padded to whole 8-byte words)."""
    height, width = s.shape
    cells = height * width
    padded = -(-cells // 8) * 8
    decided = mask[:cells].reshape(height, width)
    np.greater_equal(s, cut.hi, out=decided)
    unsure = band[:cells].reshape(height, width)
    np.greater_equal(s, cut.lo, out=unsure)
    np.not_equal(unsure, decided, out=unsure)  # lo <= s < hi
    band[cells:padded] = False
    words = np.flatnonzero(band[:padded].view(np.uint64))
    for a in range(0, len(words), _WORD_CHUNK):
        chunk = words[a : a + _WORD_CHUNK]
        w, b = np.nonzero(band[:padded].reshape(-1, 8)[chunk])
        flat = chunk[w] * 8 + b
        r, c = np.divmod(flat, width)
        mask[flat[_exact(u, rows[r], c + col0) >= cut.thr]] = True
    return decided


def _upper_masks(u, cut, block, resume) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(start, m, scratch) for each block of rows from `resume` on: m[r, c] says whether rows
    start + r and start + c are similar (c >= r; False below the diagonal); `scratch`, a float
    buffer of m's shape, is free until the next block. The buffers serve every block."""
    nu = len(u)
    block = min(block, nu)
    sims = np.empty(block * nu, dtype=u.dtype)
    padded = -(-block * nu // 8) * 8
    mask = np.empty(padded, dtype=bool)
    band = np.empty(padded, dtype=bool)
    below = np.tri(block, block, -1, dtype=bool)
    for start in range(resume, nu, block):
        stop = min(start + block, nu)
        rows, width = stop - start, nu - start
        s = _scores(u[start:stop], u[start:], sims[: rows * width].reshape(rows, width))
        s[:, :rows][below[:rows, :rows]] = -np.inf
        yield start, _decide(u, np.arange(start, stop), start, s, mask, band, cut), s


def _directed(pi, pj, nu):
    """Each off-diagonal pair both ways, self pairs once: (owner, member, has_self)."""
    self_pair = pi == pj
    has_self = np.zeros(nu, dtype=bool)
    has_self[pi[self_pair]] = True
    owner = np.concatenate([pi, pj[~self_pair]])
    member = np.concatenate([pj, pi[~self_pair]])
    return owner, member, has_self


def _low_memory(u, counts, cut, block, cap, pi, pj, resume):
    """The low-memory path, from row `resume` on (pi, pj: the fast pass's pairs of the rows
    before it). Per block, the row and column sums of the 0/1 matrix give each point's degree
    and candidate size so far (float products: exact below 2^24 samples, else in float64); the
    pairs of the points still within `cap` neighbours are kept. A point past the cap has kept
    at most `cap` entries before, dropped at the end: the lists never hold more than N * cap
    entries (beside the fast pass's), and those of the points within the cap are complete.
    Returns (degree, size, has_self, owner, member, dense)."""
    nu = len(u)
    owner, member, has_self = _directed(pi, pj, nu)
    degree = np.bincount(owner, minlength=nu)
    size = np.bincount(owner, weights=counts[member], minlength=nu).astype(np.int64)
    owners, members = [owner], [member]
    wide = u.dtype != np.float64 and int(counts.sum()) >= 2**24
    weights = np.stack([np.ones(nu), counts]).astype(np.float64 if wide else u.dtype)
    for start, m, scratch in _upper_masks(u, cut, block, resume):
        rows, width = m.shape
        stop = start + rows
        diag = np.diagonal(m).copy()
        f = np.empty(m.shape, dtype=np.float64) if wide else scratch
        np.copyto(f, m)
        by_row = np.rint(f @ weights[:, start:].T).astype(np.int64)  # rows x 2
        by_col = np.rint(weights[:, start:stop] @ f).astype(np.int64)  # 2 x width
        has_self[start:stop] = diag
        degree[start:stop] += by_row[:, 0] - diag
        degree[start:] += by_col[0]
        size[start:stop] += by_row[:, 1] - diag * counts[start:stop]
        size[start:] += by_col[1]
        within = degree <= cap
        keep_c = within[start:]
        if not keep_c.any():
            continue
        # Rows within the cap keep all their pairs (both ways when the column is within too);
        # denser rows only those with a column within the cap, kept from the column's side.
        kept, dropped = np.flatnonzero(keep_c[:rows]), np.flatnonzero(~keep_c[:rows])
        r, c = np.divmod(np.flatnonzero(m[kept]), width)
        r = kept[r]
        both = keep_c[c] & (c != r)
        dense_rows = m[dropped]
        np.logical_and(dense_rows, keep_c, out=dense_rows)
        r2, c2 = np.divmod(np.flatnonzero(dense_rows), width)
        for who, whom in ((r, c), (c[both], r[both]), (c2, dropped[r2])):
            owners.append((who + start).astype(np.int32))
            members.append((whom + start).astype(np.int32))
    dense = degree > cap
    owner, member = np.concatenate(owners), np.concatenate(members)
    complete = ~dense[owner]
    return degree, size, has_self, owner[complete], member[complete], dense


def _graph(u, counts, cut, block, budget, cap) -> _Graph:
    """Neighbourhoods by the fast pass, or by the low-memory path past the budget."""
    nu = len(u)
    pi, pj, resume = _similar_pairs(u, cut, block, budget)
    if resume == nu:
        owner, member, has_self = _directed(pi, pj, nu)
        del pi, pj
        degree = np.bincount(owner, minlength=nu)
        # A candidate's size counts the copies of its members.
        size = np.bincount(owner, weights=counts[member], minlength=nu).astype(np.int64)
        dense = np.zeros(nu, dtype=bool)
    else:
        found = _low_memory(u, counts, cut, block, cap, pi, pj, resume)
        del pi, pj
        degree, size, has_self, owner, member, dense = found
    order = np.argsort(owner, kind="stable")
    indices = member[order]
    del order, member
    indptr = np.zeros(nu + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=nu), out=indptr[1:])
    return _Graph(size, degree, has_self, indptr, indices, dense)


class _Rows:
    """The neighbour lists of the dense centres, computed when the greedy step reaches them:
    each is one row of products against every distinct vector, decided as the pair passes do.
    The centres still free next in the greedy's order are computed together (a matrix product
    instead of a matrix-vector one), the batch doubling while none is wasted (a centre used
    before its turn) and halving when some are, never above `block` rows."""

    def __init__(self, u: np.ndarray, cut: _Cut, block: int, queue: np.ndarray):
        self.u, self.cut, self.queue = u, cut, queue.tolist()
        self.next = 0  # the first centre of the queue not computed yet
        self.batch, self.limit = 0, max(1, min(block, len(queue)))
        self.rows: dict[int, int] = {}
        self.mask = np.zeros((0, len(u)), dtype=bool)

    def members(self, centre: int, used: np.ndarray) -> np.ndarray:
        if centre not in self.rows:
            self._compute(used)
        return np.flatnonzero(self.mask[self.rows.pop(centre)])

    def _compute(self, used: np.ndarray) -> None:
        # Centres before `centre` in the queue were taken or skipped: what is left was wasted.
        wasted = len(self.rows)
        self.batch = max(1, self.batch // 2) if wasted else min(2 * self.batch or 1, self.limit)
        batch: list[int] = []
        while len(batch) < self.batch and self.next < len(self.queue):
            c = self.queue[self.next]
            self.next += 1
            if not used[c]:
                batch.append(c)
        self.mask = np.zeros((0, 0), dtype=bool)  # the previous batch's buffers go first
        nu = len(self.u)
        k = len(batch)
        padded = -(-k * nu // 8) * 8
        mask, band = np.empty(padded, dtype=bool), np.empty(padded, dtype=bool)
        s = _scores(self.u[batch], self.u, np.empty((k, nu), dtype=self.u.dtype))
        rows = np.asarray(batch, dtype=np.int64)
        self.mask = _decide(self.u, rows, 0, s, mask, band, self.cut)
        self.rows = {c: i for i, c in enumerate(batch)}


def _greedy(u, graph, counts, cut, min_size, block):
    """ST's step 3: (label of each distinct vector or -1, centre and candidate rank of each
    community in the order formed)."""
    nu = len(u)
    size = graph.size
    # Candidates largest first, equal sizes by the lower centre (unique ids follow first index).
    by_size = np.argsort(-size, kind="stable")
    by_size = by_size[size[by_size] >= min_size]  # degree 0 has size 0
    rank = np.empty(nu, dtype=np.int64)
    rank[by_size] = np.arange(len(by_size))
    isolated = (graph.degree == 1) & graph.has_self  # similar only to itself (and its copies)

    label = np.full(nu, -1, dtype=np.int64)
    used = np.zeros(nu, dtype=bool)
    centres: list[int] = []
    ranks: list[int] = []
    walk = by_size[~isolated[by_size]]
    dense = graph.dense[walk]
    rows = _Rows(u, cut, block, walk[dense])
    indptr, indices = graph.indptr, graph.indices
    for c, r, d in zip(walk.tolist(), rank[walk].tolist(), dense.tolist(), strict=True):
        if used[c]:
            continue
        members = rows.members(c, used) if d else indices[indptr[c] : indptr[c + 1]]
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
    return label, centre_of, rank_of
