"""The limits on calls to one LLM endpoint (curation.llm.limits), against a real Redis.

No Django database: the limiter is pure Python plus redis-py. Redis is the test database 15
(REDIS_URL of `make test`)."""

from __future__ import annotations

import email.utils
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from curation.llm.limits import (
    EndpointLimiter,
    Limits,
    LimitTimeout,
    backoff_delay,
    parse_retry_after,
    redis_keys,
)

# The test run's own Redis database (make test picks one per run).
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    assert client.connection_pool.connection_kwargs.get("db") != 0, "never flush Redis db 0"
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def fresh_key() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one moment (an exit at t comes before an enter at t)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


# ---------------------------------------------------------------------------------------------
# Concurrency across processes


def _hold_slots(url: str, key: str, run: str, threads: int, rounds: int, go) -> None:
    """Child process: `threads` threads each take the slot `rounds` times and hold it a moment,
    logging enter/exit times and the number of holders seen into Redis."""
    client = redis.Redis.from_url(url)
    limiter = EndpointLimiter(client, key, Limits(max_concurrency=3))
    go.wait(10)

    def worker() -> None:
        for _ in range(rounds):
            with limiter.slot(estimated_tokens=0, wait_seconds=10):
                entered = time.time()
                holders = client.incr(f"{run}:holders")
                client.rpush(f"{run}:seen", holders)
                time.sleep(0.04)
                client.decr(f"{run}:holders")
                left = time.time()
            client.rpush(f"{run}:intervals", f"{os.getpid()} {entered!r} {left!r}")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    client.close()


def test_concurrency_is_shared_by_separate_processes(r):
    key, run = fresh_key(), f"run-{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    processes = [
        ctx.Process(target=_hold_slots, args=(REDIS_URL, key, run, 4, 4, go)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    go.set()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0

    rows = [line.decode().split() for line in r.lrange(f"{run}:intervals", 0, -1)]
    assert len(rows) == 2 * 4 * 4
    intervals = [(float(start), float(end)) for _, start, end in rows]
    assert max_overlap(intervals) == 3  # never more than the limit, and the limit is reached
    assert max(int(n) for n in r.lrange(f"{run}:seen", 0, -1)) == 3
    # The two processes really competed: at some moment both held slots.
    by_pid: dict[str, list[tuple[float, float]]] = {}
    for pid, start, end in rows:
        by_pid.setdefault(pid, []).append((float(start), float(end)))
    assert len(by_pid) == 2
    first, second = by_pid.values()
    assert any(a0 < b1 and b0 < a1 for a0, a1 in first for b0, b1 in second)
    # Everything released: no lease left behind.
    assert r.zcard(redis_keys(key)[0]) == 0


def test_slot_is_released_when_the_block_raises(r):
    key = fresh_key()
    limiter = EndpointLimiter(r, key, Limits(max_concurrency=1))
    with pytest.raises(RuntimeError), limiter.slot(estimated_tokens=0, wait_seconds=0):
        raise RuntimeError("the call failed")
    with limiter.slot(estimated_tokens=0, wait_seconds=0):
        with pytest.raises(LimitTimeout, match="concurrency") as raised:
            with limiter.slot(estimated_tokens=0, wait_seconds=0.1):
                pass
        assert raised.value.limits == ("concurrency",)


# ---------------------------------------------------------------------------------------------
# Requests and tokens per minute


def test_requests_per_minute(r):
    key = fresh_key()
    limiter = EndpointLimiter(r, key, Limits(max_concurrency=10, requests_per_minute=5))
    for _ in range(5):
        with limiter.slot(estimated_tokens=0, wait_seconds=0):
            pass
    started = time.monotonic()
    with pytest.raises(LimitTimeout, match="requests per minute") as raised:
        with limiter.slot(estimated_tokens=0, wait_seconds=0.2):
            pass
    assert 0.2 <= time.monotonic() - started < 1.0
    assert raised.value.limits == ("requests_per_minute",)
    assert "concurrency" not in str(raised.value)

    # The window slides: age the entries so that the oldest leaves it in ~0.3 s. The waiting
    # call sleeps until then and gets through, and only one request freed, so the next fails.
    req_key = redis_keys(key)[1]
    seconds, microseconds = r.time()
    server_ms = seconds * 1000 + microseconds // 1000
    for i, (member, _) in enumerate(r.zrange(req_key, 0, -1, withscores=True)):
        r.zadd(req_key, {member: server_ms - 59_700 + i * 5_000})
    started = time.monotonic()
    with limiter.slot(estimated_tokens=0, wait_seconds=3) as slot:
        pass
    assert 0.1 < time.monotonic() - started < 1.5
    assert slot.waited_seconds > 0.1
    with pytest.raises(LimitTimeout, match="requests per minute"):
        with limiter.slot(estimated_tokens=0, wait_seconds=0.05):
            pass


def test_tokens_per_minute_and_record_usage(r):
    key = fresh_key()
    limiter = EndpointLimiter(r, key, Limits(max_concurrency=10, tokens_per_minute=1000))
    with limiter.slot(estimated_tokens=400, wait_seconds=0) as first:
        pass
    with limiter.slot(estimated_tokens=400, wait_seconds=0):
        pass
    with pytest.raises(LimitTimeout, match="tokens per minute") as raised:
        with limiter.slot(estimated_tokens=400, wait_seconds=0.1):
            pass
    assert raised.value.limits == ("tokens_per_minute",)
    assert "requests per minute" not in str(raised.value)

    first.record_usage(100)  # the call used less than estimated: 100 + 400 in the window
    assert first.actual_tokens == 100
    with limiter.slot(estimated_tokens=400, wait_seconds=0):
        pass  # 900
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=200, wait_seconds=0):
            pass
    with limiter.slot(estimated_tokens=100, wait_seconds=0) as last:
        pass  # 1000
    # A larger actual count takes more of the window: 1001 leaves no room even for nothing.
    last.record_usage(101)
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=0, wait_seconds=0):
            pass
    assert int(r.hget(redis_keys(key)[3], "__total__")) == 1001


def test_call_larger_than_the_token_budget_does_not_deadlock(r):
    key = fresh_key()
    limiter = EndpointLimiter(r, key, Limits(max_concurrency=2, tokens_per_minute=1000))
    with limiter.slot(estimated_tokens=5000, wait_seconds=0):
        pass  # alone in an empty window: allowed
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=1, wait_seconds=0):
            pass
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=5000, wait_seconds=0):
            pass


def test_all_limits_together_name_each_blocking_limit(r):
    key = fresh_key()
    limits = Limits(max_concurrency=1, requests_per_minute=1, tokens_per_minute=10)
    limiter = EndpointLimiter(r, key, limits)
    with limiter.slot(estimated_tokens=10, wait_seconds=0):
        with pytest.raises(LimitTimeout) as raised:
            with limiter.slot(estimated_tokens=5, wait_seconds=0.05):
                pass
    message = str(raised.value)
    assert "concurrency" in message
    assert "requests per minute" in message
    assert "tokens per minute" in message
    assert set(raised.value.limits) == {
        "concurrency",
        "requests_per_minute",
        "tokens_per_minute",
    }


# ---------------------------------------------------------------------------------------------
# Leases of dead holders, and keys of idle endpoints


def test_abandoned_lease_is_reclaimed_after_it_expires(r):
    key = fresh_key()
    limiter = EndpointLimiter(r, key, Limits(max_concurrency=1), lease_seconds=0.5)
    # A holder that dies inside the block never releases: take the slot the way slot() does and
    # drop it on the floor.
    attempt = limiter._backend.try_acquire(uuid.uuid4().hex, 0)
    assert attempt.acquired
    with pytest.raises(LimitTimeout, match="concurrency"):
        with limiter.slot(estimated_tokens=0, wait_seconds=0.1):
            pass
    started = time.monotonic()
    with limiter.slot(estimated_tokens=0, wait_seconds=3):
        waited = time.monotonic() - started
    assert 0.2 < waited < 1.5


def _hold_forever(url: str, key: str, held) -> None:
    """Child process: take the endpoint's only slot and keep it until killed."""
    limiter = EndpointLimiter(
        redis.Redis.from_url(url), key, Limits(max_concurrency=1), heartbeat_seconds=0.6
    )
    with limiter.slot(estimated_tokens=0, wait_seconds=5):
        held.set()
        time.sleep(60)


def test_a_killed_holder_loses_its_slot_within_a_heartbeat_lease(r):
    """A slot is a short lease its holder's process renews while the call runs: a live holder
    keeps it however long the call takes; a SIGKILLed one loses it within that short lease,
    not at the end of lease_seconds (the task's hard time limit, 360 s)."""
    key = fresh_key()
    ctx = multiprocessing.get_context("spawn")
    held = ctx.Event()
    child = ctx.Process(target=_hold_forever, args=(REDIS_URL, key, held))
    child.start()
    try:
        assert held.wait(20)
        limiter = EndpointLimiter(r, key, Limits(max_concurrency=1), heartbeat_seconds=0.6)
        with pytest.raises(LimitTimeout, match="concurrency"):
            with limiter.slot(estimated_tokens=0, wait_seconds=2.0):  # > 3 leases: renewed
                pass
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    started = time.monotonic()
    with limiter.slot(estimated_tokens=0, wait_seconds=5):
        waited = time.monotonic() - started
    assert waited < 1.0


def test_keys_expire(r):
    key = fresh_key()
    limits = Limits(max_concurrency=2, requests_per_minute=10, tokens_per_minute=100)
    limiter = EndpointLimiter(r, key, limits, lease_seconds=5)
    conc, req, tok, tokn = redis_keys(key)
    with limiter.slot(estimated_tokens=10, wait_seconds=0):
        assert 0 < r.pttl(conc) <= 6_000
    for name in (req, tok, tokn):
        assert 0 < r.pttl(name) <= 61_000
    assert not r.exists(conc)  # the last lease released: the set is gone
    assert all(name.startswith(f"llmlimit:{{{key}}}:") for name in (conc, req, tok, tokn))


# ---------------------------------------------------------------------------------------------
# In process (no Redis)


def test_in_process_limiter_obeys_concurrency_across_threads():
    key = fresh_key()
    limits = Limits(max_concurrency=2)
    # Two limiters on one key share one budget in the process.
    limiters = [EndpointLimiter(None, key, limits), EndpointLimiter(None, key, limits)]
    lock = threading.Lock()
    intervals: list[tuple[float, float]] = []
    holders = peak = 0

    def worker(limiter: EndpointLimiter) -> None:
        nonlocal holders, peak
        for _ in range(4):
            with limiter.slot(estimated_tokens=0, wait_seconds=10):
                entered = time.monotonic()
                with lock:
                    holders += 1
                    peak = max(peak, holders)
                time.sleep(0.02)
                with lock:
                    holders -= 1
                left = time.monotonic()
            with lock:
                intervals.append((entered, left))

    pool = [threading.Thread(target=worker, args=(limiters[i % 2],)) for i in range(6)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(intervals) == 24
    assert peak == 2
    assert max_overlap(intervals) == 2
    with pytest.raises(LimitTimeout, match="concurrency"):
        with (
            limiters[0].slot(estimated_tokens=0, wait_seconds=0),
            limiters[1].slot(estimated_tokens=0, wait_seconds=0),
            limiters[0].slot(estimated_tokens=0, wait_seconds=0.05),
        ):
            pass


def test_in_process_windows_slide_with_the_clock():
    now = [1_000.0]
    key = fresh_key()
    limits = Limits(max_concurrency=5, requests_per_minute=2, tokens_per_minute=100)
    limiter = EndpointLimiter(None, key, limits, clock=lambda: now[0])
    with limiter.slot(estimated_tokens=60, wait_seconds=0) as first:
        pass
    now[0] += 30
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=60, wait_seconds=0):
            pass
    first.record_usage(20)
    with limiter.slot(estimated_tokens=60, wait_seconds=0):
        pass
    with pytest.raises(LimitTimeout, match="requests per minute"):
        with limiter.slot(estimated_tokens=0, wait_seconds=0.02):
            pass
    now[0] += 30  # the first request leaves the window
    with limiter.slot(estimated_tokens=0, wait_seconds=0):
        pass
    now[0] += 60
    with limiter.slot(estimated_tokens=1000, wait_seconds=0):
        pass  # larger than the budget, in an empty window
    with pytest.raises(LimitTimeout, match="tokens per minute"):
        with limiter.slot(estimated_tokens=1, wait_seconds=0):
            pass


def test_in_process_lease_expires():
    now = [0.0]
    limiter = EndpointLimiter(None, fresh_key(), Limits(1), lease_seconds=1, clock=lambda: now[0])
    assert limiter._backend.try_acquire("dead-holder", 0).acquired
    with pytest.raises(LimitTimeout, match="concurrency"):
        with limiter.slot(estimated_tokens=0, wait_seconds=0.02):
            pass
    now[0] += 1
    with limiter.slot(estimated_tokens=0, wait_seconds=0):
        pass


def test_limits_are_validated():
    with pytest.raises(ValueError):
        Limits(max_concurrency=0)
    with pytest.raises(ValueError):
        Limits(max_concurrency=1, requests_per_minute=0)
    with pytest.raises(ValueError):
        Limits(max_concurrency=1, tokens_per_minute=-5)
    limiter = EndpointLimiter(None, fresh_key(), Limits(1))
    with pytest.raises(ValueError):
        with limiter.slot(estimated_tokens=-1, wait_seconds=0):
            pass


# ---------------------------------------------------------------------------------------------
# Retrying


def test_backoff_delay_grows_with_full_jitter_and_is_capped():
    top = [backoff_delay(n, rng=lambda: 1.0) for n in range(8)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(3, rng=lambda: 0.0) == 0.0
    assert backoff_delay(3, rng=lambda: 0.5) == 2.0
    assert backoff_delay(10_000, rng=lambda: 1.0) == 30.0
    assert backoff_delay(4, base=1, cap=5, rng=lambda: 1.0) == 5.0
    samples = [backoff_delay(4) for _ in range(200)]
    assert all(0 <= s <= 8.0 for s in samples)
    assert len(set(samples)) > 100


def test_backoff_delay_honours_retry_after():
    assert backoff_delay(0, retry_after=5, rng=lambda: 0.0) == 5.0
    assert 5.0 <= backoff_delay(0, retry_after=5, rng=lambda: 1.0) <= 6.0
    for _ in range(100):
        assert 5.0 <= backoff_delay(0, retry_after=5) <= 6.0
        assert 2.0 <= backoff_delay(6, retry_after=2) <= 30.0
    assert backoff_delay(0, retry_after=120) == 30.0  # still capped
    assert backoff_delay(0, retry_after=0, rng=lambda: 0.0) == 0.0


def test_parse_retry_after():
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"Retry-After-Ms": "250.5", "Retry-After": "9"}) == 0.2505
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"RETRY-AFTER": " 3 "}) == 3.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 27 <= parse_retry_after({"Retry-After": future}) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert parse_retry_after({"Retry-After": past}) == 0.0
    assert parse_retry_after({"retry-after-ms": "soon", "Retry-After": "4"}) == 4.0
    for garbage in ("soon", "", "-3", "nan", "inf", "Mon, 99 Foo 2020 99:99:99 GMT"):
        assert parse_retry_after({"Retry-After": garbage}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Content-Type": "application/json"}) is None
