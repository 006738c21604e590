"""Limits on the calls to one LLM endpoint, shared by every worker process and machine.

An endpoint (one provider account, one model deployment) allows so many calls at once, so many
requests per minute and so many tokens per minute. `EndpointLimiter.slot()` takes one call's share
of all three budgets in a single atomic Redis script, so that any number of Celery workers on any
number of machines stay within them together:

    limiter = EndpointLimiter(redis_client, "openai:gpt-4o", Limits(8, 500, 200_000))
    with limiter.slot(estimated_tokens=1_200, wait_seconds=30) as slot:
        response = client.chat(...)
        slot.record_usage(response.usage.total_tokens)

The Redis keys (the `{key}` hash tag keeps them in one cluster slot):

    llmlimit:{key}:conc   ZSET  acquisition id -> lease expiry (ms, Redis server time)
    llmlimit:{key}:req    ZSET  acquisition id -> time of the request (ms)
    llmlimit:{key}:tok    ZSET  acquisition id -> time of the request (ms)
    llmlimit:{key}:tokn   HASH  acquisition id -> tokens counted; "__total__" -> their sum

Time is Redis's own (`TIME` inside the script), so machines with skewed clocks still agree. A
concurrency slot is a short lease (`heartbeat_seconds`, 10 s by default) that a thread of the
holder's process renews while the call runs, up to `lease_seconds` in all: a holder that dies
without releasing (SIGKILL, lost machine) loses its slot within one short lease, not at the end
of the task's time limit. Every key carries an expiry, so an idle endpoint leaves nothing
behind.

Without Redis (the quick start runs tasks in-process) the same semantics are kept in process
memory, shared per key by every limiter of the process.

This module imports nothing from Django.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import random
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Protocol

from redis import exceptions as redis_errors

if TYPE_CHECKING:
    import redis

__all__ = [
    "EndpointLimiter",
    "LimitTimeout",
    "Limits",
    "Slot",
    "backoff_delay",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
"""Length of the sliding window of the per-minute budgets."""

CONCURRENCY_POLL_CAP = 0.05
"""Longest pause between two attempts while only the concurrency limit holds a call up."""

SLOT_HEARTBEAT_SECONDS = 10.0
"""Lease of a live holder's concurrency slot, renewed every quarter of it while the call runs."""

CONCURRENCY = "concurrency"
REQUESTS_PER_MINUTE = "requests_per_minute"
TOKENS_PER_MINUTE = "tokens_per_minute"
_LIMIT_NAMES = (CONCURRENCY, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE)


class LimitTimeout(Exception):
    """No slot could be had within the wait budget.

    `limits` names the budgets that still held the call up at the last attempt (a subset of
    "concurrency", "requests_per_minute" and "tokens_per_minute"); the message says the same in
    words.
    """

    def __init__(self, key: str, limits: tuple[str, ...], waited: float, detail: str) -> None:
        self.key = key
        self.limits = limits
        self.waited = waited
        super().__init__(
            f"LLM endpoint {key!r}: no slot within {waited:.2f} s; held up by {detail}"
        )


@dataclass(frozen=True)
class Limits:
    """The budgets of one endpoint. None means unlimited."""

    max_concurrency: int
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.max_concurrency) or self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, not {self.max_concurrency!r}")
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise ValueError(f"{name} must be None or an int >= 1, not {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Slot:
    """One acquired call: the concurrency slot plus its entries in the per-minute windows."""

    __slots__ = ("_backend", "actual_tokens", "estimated_tokens", "id", "key", "waited_seconds")

    def __init__(
        self,
        backend: _Backend,
        key: str,
        slot_id: str,
        estimated_tokens: int,
        waited_seconds: float,
    ) -> None:
        self._backend = backend
        self.key = key
        self.id = slot_id
        self.estimated_tokens = estimated_tokens
        self.actual_tokens: int | None = None
        self.waited_seconds = waited_seconds

    def record_usage(self, actual_tokens: int) -> None:
        """Replace the estimate in the token window by the tokens the call really used.

        May be called again (the last count wins) and also after the slot was released. Once the
        entry has left the 60-second window there is nothing left to correct.
        """
        if not _is_int(actual_tokens) or actual_tokens < 0:
            raise ValueError(f"actual_tokens must be an int >= 0, not {actual_tokens!r}")
        self.actual_tokens = actual_tokens
        self._backend.record_usage(self.id, actual_tokens)

    def __repr__(self) -> str:
        return (
            f"<Slot {self.key!r} {self.id} estimated={self.estimated_tokens} "
            f"actual={self.actual_tokens}>"
        )


@dataclass(frozen=True)
class _Attempt:
    """What one acquisition attempt found."""

    acquired: bool
    blocked: tuple[str, ...] = ()
    window_wait: float = 0.0
    """Seconds until the per-minute budgets that blocked can have freed enough (0 if none)."""
    lease_wait: float = 0.0
    """Seconds until the earliest lease expires (0 unless concurrency blocked)."""
    generation: int = 0
    """In-process only: the release counter seen, so that a pause ends on the next release."""


class _Backend(Protocol):
    def try_acquire(self, slot_id: str, estimated_tokens: int) -> _Attempt: ...

    def pause(self, seconds: float, attempt: _Attempt) -> None: ...

    def release(self, slot_id: str) -> None: ...

    def record_usage(self, slot_id: str, actual_tokens: int) -> None: ...


# ---------------------------------------------------------------------------------------------
# Redis


_ACQUIRE_LUA = """
-- KEYS: conc ZSET, req ZSET, tok ZSET, tokn HASH
-- ARGV: id, max_concurrency, rpm (-1 = unlimited), tpm (-1 = unlimited), estimated tokens,
--       lease ms, window ms
-- Returns {1, now_ms} when acquired, else {0, "name,name", window_wait_ms, lease_wait_ms}.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local id = ARGV[1]
local max_conc = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local est = tonumber(ARGV[5])
local lease_ms = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
local horizon = now - window
local CHUNK = 500

local blocked = {}
local window_wait = 0
local lease_wait = 0

-- Concurrency: leases whose expiry has passed belong to holders that died.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max_conc then
  table.insert(blocked, 'concurrency')
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  lease_wait = tonumber(first[2]) - now
end

-- Requests per minute: an entry at time s counts while s > now - window.
if rpm >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
  local n = redis.call('ZCARD', KEYS[2])
  if n >= rpm then
    table.insert(blocked, 'requests_per_minute')
    -- The (n - rpm + 1) oldest entries must leave; the last of them is at index n - rpm.
    local e = redis.call('ZRANGE', KEYS[2], n - rpm, n - rpm, 'WITHSCORES')
    window_wait = math.max(window_wait, tonumber(e[2]) + window - now)
  end
end

-- Tokens per minute.
if tpm >= 0 then
  local freed = 0
  while true do
    local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', horizon, 'LIMIT', 0, CHUNK)
    if #old == 0 then break end
    local values = redis.call('HMGET', KEYS[4], unpack(old))
    for _, v in ipairs(values) do
      if v then freed = freed + tonumber(v) end
    end
    redis.call('ZREM', KEYS[3], unpack(old))
    redis.call('HDEL', KEYS[4], unpack(old))
  end
  local total = 0
  if redis.call('ZCARD', KEYS[3]) == 0 then
    redis.call('DEL', KEYS[4])
  else
    if freed > 0 then redis.call('HINCRBY', KEYS[4], '__total__', -freed) end
    total = tonumber(redis.call('HGET', KEYS[4], '__total__') or '0')
    if total < 0 then total = 0 end
  end
  -- A call larger than the whole budget goes through when the window is otherwise empty.
  if total > 0 and total + est > tpm then
    table.insert(blocked, 'tokens_per_minute')
    local need = total + est - tpm
    if est > tpm then need = total end
    local got = 0
    local start = 0
    local found = false
    while not found do
      local entries = redis.call('ZRANGE', KEYS[3], start, start + CHUNK - 1, 'WITHSCORES')
      if #entries == 0 then break end
      local ids = {}
      for i = 1, #entries, 2 do table.insert(ids, entries[i]) end
      local values = redis.call('HMGET', KEYS[4], unpack(ids))
      for j, v in ipairs(values) do
        if v then got = got + tonumber(v) end
        if got >= need then
          window_wait = math.max(window_wait, tonumber(entries[2 * j]) + window - now)
          found = true
          break
        end
      end
      start = start + CHUNK
    end
    if not found then window_wait = math.max(window_wait, window) end
  end
end

if #blocked > 0 then
  return {0, table.concat(blocked, ','), math.ceil(window_wait), math.ceil(lease_wait)}
end

redis.call('ZADD', KEYS[1], now + lease_ms, id)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now) + 1000)
if rpm >= 0 then
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], window + 1000)
end
if tpm >= 0 then
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('HSET', KEYS[4], id, est)
  redis.call('HINCRBY', KEYS[4], '__total__', est)
  redis.call('PEXPIRE', KEYS[3], window + 1000)
  redis.call('PEXPIRE', KEYS[4], window + 1000)
end
return {1, now}
"""

_RENEW_LUA = """
-- KEYS: conc ZSET; ARGV: lease ms, then the ids of the slots to renew
-- Moves the expiry of each slot still held (not expired and removed) to now + lease.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    renewed = renewed + 1
  end
end
if renewed > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(last[2]) - now) + 1000)
end
return renewed
"""

_RECORD_USAGE_LUA = """
-- KEYS: tok ZSET, tokn HASH; ARGV: id, actual tokens
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local actual = tonumber(ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], actual)
redis.call('HINCRBY', KEYS[2], '__total__', actual - old)
return 1
"""


def redis_keys(key: str) -> tuple[str, str, str, str]:
    """The Redis keys of endpoint `key`: concurrency, requests, token times, token counts."""
    prefix = f"llmlimit:{{{key}}}"
    return f"{prefix}:conc", f"{prefix}:req", f"{prefix}:tok", f"{prefix}:tokn"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _RedisBackend:
    def __init__(
        self,
        client: redis.Redis,
        key: str,
        limits: Limits,
        lease_seconds: float,
        window_seconds: float,
    ) -> None:
        self.client = client
        self.keys = redis_keys(key)
        self.limits = limits
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.window_ms = max(1, round(window_seconds * 1000))
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._record = client.register_script(_RECORD_USAGE_LUA)
        self._renew = client.register_script(_RENEW_LUA)

    def renew(self, slot_ids: list[str], lease_seconds: float) -> None:
        lease_ms = max(1, round(lease_seconds * 1000))
        self._renew(keys=[self.keys[0]], args=[lease_ms, *slot_ids])

    def try_acquire(self, slot_id: str, estimated_tokens: int) -> _Attempt:
        limits = self.limits
        reply = self._acquire(
            keys=list(self.keys),
            args=[
                slot_id,
                limits.max_concurrency,
                -1 if limits.requests_per_minute is None else limits.requests_per_minute,
                -1 if limits.tokens_per_minute is None else limits.tokens_per_minute,
                estimated_tokens,
                self.lease_ms,
                self.window_ms,
            ],
        )
        if int(reply[0]) == 1:
            return _Attempt(acquired=True)
        return _Attempt(
            acquired=False,
            blocked=tuple(_text(reply[1]).split(",")),
            window_wait=max(0, int(reply[2])) / 1000,
            lease_wait=max(0, int(reply[3])) / 1000,
        )

    def pause(self, seconds: float, attempt: _Attempt) -> None:
        time.sleep(seconds)

    def release(self, slot_id: str) -> None:
        try:
            self.client.zrem(self.keys[0], slot_id)
        except Exception:  # the lease expires by itself; never mask the caller's exception
            logger.warning(
                "could not release LLM slot %s of %s", slot_id, self.keys[0], exc_info=True
            )

    def record_usage(self, slot_id: str, actual_tokens: int) -> None:
        if self.limits.tokens_per_minute is None:
            return
        self._record(keys=[self.keys[2], self.keys[3]], args=[slot_id, actual_tokens])


class _Renewer:
    """Renews the concurrency slots this process holds in Redis, from a daemon thread that dies
    with the process (and so do the renewals). One per process: a forked child starts its own."""

    def __init__(self) -> None:
        self._pid = 0
        self._lock = threading.Lock()
        # slot id -> (backend, short lease, monotonic time after which it is no longer renewed)
        self._held: dict[str, tuple[_RedisBackend, float, float]] = {}

    def hold(self, backend: _RedisBackend, slot_id: str, lease: float, until: float) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._held = {}
                threading.Thread(target=self._run, name="llm-slot-heartbeat", daemon=True).start()
            self._held[slot_id] = (backend, lease, until)

    def drop(self, slot_id: str) -> None:
        with self._lock:
            self._held.pop(slot_id, None)

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            with self._lock:
                beat = min((lease / 4 for _, lease, _ in self._held.values()), default=0.5)
            time.sleep(max(0.05, beat))
            now = time.monotonic()
            groups: dict[tuple[int, float], tuple[_RedisBackend, list[str]]] = {}
            with self._lock:
                for slot_id, (backend, lease, until) in self._held.items():
                    if now < until:
                        group = groups.setdefault((id(backend), lease), (backend, []))
                        group[1].append(slot_id)
            for (_, lease), (backend, ids) in groups.items():
                try:
                    backend.renew(ids, lease)
                except Exception:  # noqa: BLE001 - Redis restarting: the next beat tries again
                    logger.warning(
                        "could not renew LLM slots of %s", backend.keys[0], exc_info=True
                    )


_renewer = _Renewer()


# ---------------------------------------------------------------------------------------------
# In process


class _LocalState:
    """The budgets of one key in this process: the in-memory twin of the Redis keys."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.leases: dict[str, float] = {}  # id -> lease expiry
        self.requests: deque[float] = deque()  # request times, oldest first
        self.tokens: OrderedDict[str, tuple[float, int]] = OrderedDict()  # id -> (time, tokens)
        self.token_total = 0
        self.generation = 0  # bumped on every release and correction


_local_states: dict[str, _LocalState] = {}
_local_states_lock = threading.Lock()


def _local_state(key: str) -> _LocalState:
    with _local_states_lock:
        state = _local_states.get(key)
        if state is None:
            state = _local_states[key] = _LocalState()
        return state


class _LocalBackend:
    def __init__(
        self,
        key: str,
        limits: Limits,
        lease_seconds: float,
        window_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.state = _local_state(key)
        self.limits = limits
        self.lease_seconds = lease_seconds
        self.window = window_seconds
        self.clock = clock

    def try_acquire(self, slot_id: str, estimated_tokens: int) -> _Attempt:
        state, limits = self.state, self.limits
        with state.condition:
            now = self.clock()
            horizon = now - self.window
            blocked: list[str] = []
            window_wait = lease_wait = 0.0

            for lease_id, expiry in list(state.leases.items()):
                if expiry <= now:
                    del state.leases[lease_id]
            if len(state.leases) >= limits.max_concurrency:
                blocked.append(CONCURRENCY)
                lease_wait = min(state.leases.values()) - now

            rpm = limits.requests_per_minute
            while state.requests and state.requests[0] <= horizon:
                state.requests.popleft()
            if rpm is not None and len(state.requests) >= rpm:
                blocked.append(REQUESTS_PER_MINUTE)
                leaving = state.requests[len(state.requests) - rpm]
                window_wait = max(window_wait, leaving + self.window - now)

            tpm = limits.tokens_per_minute
            while state.tokens:
                first_id, (at, tokens) = next(iter(state.tokens.items()))
                if at > horizon:
                    break
                del state.tokens[first_id]
                state.token_total -= tokens
            if not state.tokens:
                state.token_total = 0
            total = max(0, state.token_total)
            if tpm is not None and total > 0 and total + estimated_tokens > tpm:
                blocked.append(TOKENS_PER_MINUTE)
                need = total if estimated_tokens > tpm else total + estimated_tokens - tpm
                got, frees_at = 0, now + self.window
                for at, tokens in state.tokens.values():
                    got += tokens
                    if got >= need:
                        frees_at = at + self.window
                        break
                window_wait = max(window_wait, frees_at - now)

            if blocked:
                return _Attempt(
                    acquired=False,
                    blocked=tuple(blocked),
                    window_wait=max(0.0, window_wait),
                    lease_wait=max(0.0, lease_wait),
                    generation=state.generation,
                )
            state.leases[slot_id] = now + self.lease_seconds
            if rpm is not None:
                state.requests.append(now)
            if tpm is not None:
                state.tokens[slot_id] = (now, estimated_tokens)
                state.token_total += estimated_tokens
            return _Attempt(acquired=True)

    def pause(self, seconds: float, attempt: _Attempt) -> None:
        state = self.state
        with state.condition:
            state.condition.wait_for(lambda: state.generation != attempt.generation, seconds)

    def release(self, slot_id: str) -> None:
        state = self.state
        with state.condition:
            state.leases.pop(slot_id, None)
            state.generation += 1
            state.condition.notify_all()

    def record_usage(self, slot_id: str, actual_tokens: int) -> None:
        if self.limits.tokens_per_minute is None:
            return
        state = self.state
        with state.condition:
            entry = state.tokens.get(slot_id)
            if entry is None:
                return
            at, old = entry
            state.tokens[slot_id] = (at, actual_tokens)
            state.token_total += actual_tokens - old
            if actual_tokens < old:
                state.generation += 1
                state.condition.notify_all()


# ---------------------------------------------------------------------------------------------
# The limiter


class EndpointLimiter:
    """The limits of one endpoint, enforced across processes through Redis (or, with `redis`
    None, across the threads of this process).

    `clock` is the time of the in-process implementation; with Redis the server's own time is
    used so that all machines agree. Waiting budgets are measured on `time.monotonic`.
    """

    def __init__(
        self,
        redis: redis.Redis | None,
        key: str,
        limits: Limits,
        lease_seconds: float = 360.0,
        clock: Callable[[], float] = time.time,
        heartbeat_seconds: float | None = SLOT_HEARTBEAT_SECONDS,
    ) -> None:
        """`lease_seconds`: the longest a slot is held (a task's hard time limit). With Redis,
        a slot's lease is `heartbeat_seconds`, renewed while it is held (None: no heartbeat,
        the slot's lease is `lease_seconds`)."""
        if not key:
            raise ValueError("key must not be empty")
        if not lease_seconds > 0:
            raise ValueError(f"lease_seconds must be > 0, not {lease_seconds!r}")
        if heartbeat_seconds is not None and not heartbeat_seconds > 0:
            raise ValueError(f"heartbeat_seconds must be > 0, not {heartbeat_seconds!r}")
        self.key = key
        self.limits = limits
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = (
            heartbeat_seconds
            if heartbeat_seconds is not None and heartbeat_seconds < lease_seconds
            else None
        )
        self._backend: _Backend
        if redis is None:
            self._backend = _LocalBackend(key, limits, lease_seconds, WINDOW_SECONDS, clock)
        else:
            first_lease = self.heartbeat_seconds or lease_seconds
            self._backend = _RedisBackend(redis, key, limits, first_lease, WINDOW_SECONDS)

    @contextmanager
    def slot(self, *, estimated_tokens: int, wait_seconds: float) -> Iterator[Slot]:
        """Wait up to `wait_seconds` for a concurrency slot, a request and `estimated_tokens`
        tokens of the per-minute windows, all taken at once; raise LimitTimeout otherwise.

        The concurrency slot is released on leaving the block, whatever happens in it; the
        per-minute entries stay for their 60 seconds.
        """
        slot = self._acquire(estimated_tokens=estimated_tokens, wait_seconds=wait_seconds)
        renewed = self.heartbeat_seconds is not None and isinstance(self._backend, _RedisBackend)
        if renewed:
            until = time.monotonic() + self.lease_seconds - self.heartbeat_seconds
            _renewer.hold(self._backend, slot.id, self.heartbeat_seconds, until)
        try:
            yield slot
        finally:
            if renewed:
                _renewer.drop(slot.id)
            self._backend.release(slot.id)

    def _acquire(self, *, estimated_tokens: int, wait_seconds: float) -> Slot:
        if not _is_int(estimated_tokens) or estimated_tokens < 0:
            raise ValueError(f"estimated_tokens must be an int >= 0, not {estimated_tokens!r}")
        if not wait_seconds >= 0:
            raise ValueError(f"wait_seconds must be >= 0, not {wait_seconds!r}")
        slot_id = uuid.uuid4().hex
        started = time.monotonic()
        deadline = started + wait_seconds
        concurrency_pause = 0.005
        while True:
            try:
                attempt = self._backend.try_acquire(slot_id, estimated_tokens)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError):
                # Redis restarting: wait for it within the budget rather than fail the call.
                if time.monotonic() >= deadline:
                    raise LimitTimeout(
                        self.key, (), time.monotonic() - started, "an unreachable Redis"
                    ) from None
                time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))
                continue
            if attempt.acquired:
                return Slot(
                    self._backend, self.key, slot_id, estimated_tokens, time.monotonic() - started
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LimitTimeout(
                    self.key,
                    attempt.blocked,
                    time.monotonic() - started,
                    self._describe(attempt.blocked, estimated_tokens),
                )
            delay = 0.0
            if CONCURRENCY in attempt.blocked:
                # Another holder may release at any moment: poll, backing off up to the cap, but
                # no later than the earliest lease expiry.
                delay = min(concurrency_pause, attempt.lease_wait or concurrency_pause)
                concurrency_pause = min(CONCURRENCY_POLL_CAP, concurrency_pause * 1.5)
                delay *= random.uniform(0.8, 1.2)
            if attempt.window_wait > 0:
                # Nothing frees in the window before its oldest entries leave.
                delay = max(delay, attempt.window_wait + random.uniform(0.001, 0.02))
            self._backend.pause(min(max(delay, 0.001), remaining), attempt)

    def _describe(self, blocked: tuple[str, ...], estimated_tokens: int) -> str:
        limits = self.limits
        words = {
            CONCURRENCY: f"concurrency (max {limits.max_concurrency} at once)",
            REQUESTS_PER_MINUTE: f"requests per minute (limit {limits.requests_per_minute})",
            TOKENS_PER_MINUTE: (
                f"tokens per minute (limit {limits.tokens_per_minute}, "
                f"{estimated_tokens} requested)"
            ),
        }
        return " and ".join(words[name] for name in _LIMIT_NAMES if name in blocked) or "?"

    def __repr__(self) -> str:
        backend = "in-process" if isinstance(self._backend, _LocalBackend) else "redis"
        return f"<EndpointLimiter {self.key!r} {self.limits} ({backend})>"


# ---------------------------------------------------------------------------------------------
# Retrying


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry).

    Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt)). When the
    server said when to come back (`retry_after`), wait at least that, plus a small jitter so
    that the workers it turned away do not all return at once. Never more than `cap`.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, not {attempt!r}")
    ceiling = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    delay = rng() * ceiling
    if retry_after is not None and math.isfinite(retry_after):
        retry_after = max(0.0, retry_after)
        jitter = rng() * min(1.0, 0.1 + 0.1 * retry_after)
        delay = max(delay, retry_after + jitter)
    return max(0.0, min(cap, delay))


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` (milliseconds, preferred) or
    `Retry-After` (seconds or an HTTP date). None when there is no usable value."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(str(name).strip().lower(), str(value).strip())

    milliseconds = _parse_number(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000

    value = lowered.get("retry-after")
    if not value:
        return None
    seconds = _parse_number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def _parse_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number
