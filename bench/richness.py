"""Richness' community detection at 80,000 prompts: ours against sentence-transformers'.

    pip install -r requirements-bench.txt     # torch 2.13.0 (CPU) + sentence-transformers 6.2.0
    python bench/richness.py [--quick]

Makes 80,000 x 384 float32 vectors (10,000 with --quick) shaped like prompt embeddings at the
default threshold 0.82: a few thousand topics (one centre each, Zipf-like sizes, each with its
own spread, so some topics hold together above 0.82 and others fall apart), a common direction
(unrelated prompts still have a cosine about 0.25), 15 % lone prompts and 3 % exact duplicates.
Then times, side by side on the same vectors and 2 threads each, metrics.community.communities
(numpy) and sentence_transformers.util.community_detection(threshold=0.82,
min_community_size=1) (torch), compares the partitions (as sets of member sets; also the order
of the communities and their centres), measures our peak traced memory in a second run
(tracemalloc: numpy's arrays, not BLAS' own buffers), and the matrix-multiply floor: the plain
blocked float32 products alone, all N x N (what ST computes) and the upper triangle (what we
compute). Needs no database. Where OPENBLAS_CORETYPE is set (some machines here), unset it and
OPENBLAS_L2_SIZE for this command only, or numpy's products run on a slower kernel. Both sides
run 2 BLAS threads on 2 cores: any other busy process makes them several times slower (the load
average is printed); --repeats K runs each side K times, interleaved, and keeps the best.
Then the dense case that used to stop the metric (the paper's v0.5: 98.44 % repetition): 5,000
vectors (3,000 with --quick), 98.4 % of them one prompt template with only an id changing (every
pair of those above the threshold, millions of pairs: our low-memory exact path), beside ST's
partition for identity.
The last line: `richness n=N ours_s=S st_s=S speedup=R identical=true|false dense_n=N
dense_s=S dense_st_s=S dense_identical=true|false`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.community import communities  # noqa: E402

THRESHOLD = 0.82


def make_vectors(n: int, d: int = 384, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)

    def unit(a):
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    common = unit(rng.standard_normal(d, dtype=np.float32))
    topics = max(n // 20, 10)
    centres = unit(unit(rng.standard_normal((topics, d), dtype=np.float32)) + 0.6 * common)
    spread = rng.uniform(0.25, 0.7, topics).astype(np.float32)
    weight = 1.0 / np.arange(1, topics + 1) ** 0.5
    topic = rng.choice(topics, size=n, p=weight / weight.sum())
    x = centres[topic] + spread[topic, None] * rng.standard_normal((n, d), dtype=np.float32) / (
        np.float32(np.sqrt(d))
    )
    lone = np.flatnonzero(rng.random(n) < 0.15)
    x[lone] = unit(unit(rng.standard_normal((len(lone), d), dtype=np.float32)) + 0.6 * common)
    copies = np.flatnonzero(rng.random(n) < 0.03)
    x[copies] = x[rng.integers(0, n, len(copies))]
    return np.ascontiguousarray(x, dtype=np.float32)


def make_dense(n: int, d: int = 384, seed: int = 1) -> np.ndarray:
    """Near-identical prompts: 98.4 % one template (a direction and a little noise per id, cosine
    about 0.99 with one another), the rest unrelated prompts."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(d, dtype=np.float32) + 0.1 * rng.standard_normal(
        (n, d), dtype=np.float32
    )
    other = np.flatnonzero(rng.random(n) < 0.016)
    x[other] = rng.standard_normal((len(other), d), dtype=np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def matmul_floor(x: np.ndarray, *, upper: bool, block: int = 2048) -> float:
    """Seconds for the blocked float32 products alone (normalised rows, preallocated output)."""
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(u)
    out = np.empty(block * n, dtype=np.float32)
    started = time.perf_counter()
    for s in range(0, n, block):
        e = min(s + block, n)
        cols = u[s:] if upper else u
        np.matmul(u[s:e], cols.T, out=out[: (e - s) * len(cols)].reshape(e - s, len(cols)))
    return time.perf_counter() - started


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "numpy BLAS: unknown (threadpoolctl not installed)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
            return (
                f"numpy {np.__version__} BLAS: {pool['internal_api']} {pool.get('version')} "
                f"({pool.get('architecture')}), {pool['num_threads']} threads"
            )
    return f"numpy {np.__version__} BLAS: unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 vectors")
    parser.add_argument("--n", type=int, help="number of vectors (default 80,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each side, interleaved; the best counts"
    )
    args = parser.parse_args()
    n = args.n or (10_000 if args.quick else 80_000)

    import torch
    from sentence_transformers import __version__ as st_version
    from sentence_transformers.util import community_detection

    torch.set_num_threads(2)
    x = make_vectors(n, seed=args.seed)
    distinct = len(np.unique(x.view(np.dtype((np.void, x.shape[1] * 4))).ravel()))
    print(
        f"vectors: {n:,} x {x.shape[1]} float32 ({n - distinct:,} exact duplicates), "
        f"threshold {THRESHOLD}"
    )
    print(f"{blas_info()}; torch {torch.__version__}, {torch.get_num_threads()} threads")

    load_before = os.getloadavg()[0]
    ours_times, st_times = [], []
    for _ in range(max(args.repeats, 1)):
        started = time.perf_counter()
        ours = communities(x, THRESHOLD)
        ours_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        theirs = community_detection(x, threshold=THRESHOLD, min_community_size=1)
        st_times.append(time.perf_counter() - started)
    ours_s, st_s = min(ours_times), min(st_times)

    tracemalloc.start()
    communities(x, THRESHOLD)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    full_s = matmul_floor(x, upper=False)
    upper_s = matmul_floor(x, upper=True)
    load_after = os.getloadavg()[0]

    identical = set(map(frozenset, ours)) == set(map(frozenset, theirs))
    same_order = [frozenset(c) for c in ours] == [frozenset(c) for c in theirs]
    same_centres = [c[0] for c in ours] == [c[0] for c in theirs]
    sizes = sorted((len(c) for c in ours), reverse=True)
    print(
        f"ours: {len(ours):,} communities (largest {sizes[0]}, {sizes.count(1):,} singletons), "
        f"richness {len(ours) / n:.4f}"
    )
    print(f"st:   {len(theirs):,} communities, richness {len(theirs) / n:.4f}")
    print(
        f"ours (metrics.community, numpy)           {ours_s:7.2f} s  "
        f"peak traced memory {peak / 2**20:,.0f} MiB (an N x N float32 matrix: "
        f"{n * n * 4 / 2**20:,.0f} MiB)"
    )
    print(f"sentence-transformers {st_version} (torch)       {st_s:7.2f} s")
    if len(ours_times) > 1:
        print(
            "runs: ours "
            + ", ".join(f"{t:.2f}" for t in ours_times)
            + " s; st "
            + ", ".join(f"{t:.2f}" for t in st_times)
            + " s"
        )
    print(f"floor: blocked float32 products, all N x N  {full_s:7.2f} s  (what ST computes)")
    print(f"floor: blocked float32 products, upper half {upper_s:7.2f} s  (what ours computes)")
    print(
        f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after: another busy "
        "process on these 2 cores slows the threaded products several-fold"
    )
    print(
        f"speedup {st_s / ours_s:.2f}x; partition identical: {identical}; same order of "
        f"communities: {same_order}; same centres: {same_centres}"
    )

    # The dense case: every template pair similar, millions of pairs, the low-memory path.
    dense_n = 3_000 if args.quick else 5_000
    xd = make_dense(dense_n, seed=args.seed + 1)
    started = time.perf_counter()
    ours_dense = communities(xd, THRESHOLD)
    dense_s = time.perf_counter() - started
    tracemalloc.start()
    communities(xd, THRESHOLD)
    _, dense_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    theirs_dense = community_detection(xd, threshold=THRESHOLD, min_community_size=1)
    dense_st_s = time.perf_counter() - started
    dense_identical = [(c[0], frozenset(c)) for c in ours_dense] == [
        (c[0], frozenset(c)) for c in theirs_dense
    ]
    print(
        f"dense: {dense_n:,} near-identical prompts, {len(ours_dense)} communities (largest "
        f"{len(ours_dense[0]):,}), richness {len(ours_dense) / dense_n:.4f}; ours {dense_s:.2f} s "
        f"(peak traced memory {dense_peak / 2**20:,.0f} MiB), st {dense_st_s:.2f} s; "
        f"identical to ST (communities, order, centres): {dense_identical}"
    )
    print(
        f"richness n={n} ours_s={ours_s:.2f} st_s={st_s:.2f} speedup={st_s / ours_s:.2f} "
        f"identical={'true' if identical else 'false'} dense_n={dense_n} "
        f"dense_s={dense_s:.2f} dense_st_s={dense_st_s:.2f} "
        f"dense_identical={'true' if dense_identical else 'false'}"
    )


if __name__ == "__main__":
    main()
