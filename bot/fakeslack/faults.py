"""Fault injection and rate limiting for the fake Web API (reliability tests).

Not thread-safe by itself: :class:`~bot.fakeslack.server.FakeSlack` calls it under its lock.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

# Pseudo-methods so rules can target the non-API endpoints of the fake.
RESPONSE_URL = "response_url"
UPLOAD = "upload"
_PSEUDO_METHODS = frozenset({RESPONSE_URL, UPLOAD})

_ERROR_BY_STATUS = MappingProxyType(
    {
        429: "ratelimited",
        500: "internal_error",
        502: "bad_gateway",
        503: "service_unavailable",
        504: "gateway_timeout",
    }
)


@dataclass
class FaultRule:
    """One injected fault. ``times=None`` applies until removed; ``until`` is a wall-clock deadline."""

    id: int
    methods: frozenset[str] | None
    status: int | None = None
    times: int | None = None
    retry_after: float | None = None
    latency: float | None = None
    error: str | None = None
    until: float | None = None
    hits: int = 0

    def applies_to(self, method: str, now: float) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.until is not None and now >= self.until:
            return False
        if self.methods is None:
            return method not in _PSEUDO_METHODS
        return method in self.methods

    @property
    def slow_only(self) -> bool:
        """Only latency: Slack does the work, then answers late (the client may have given up)."""
        return self.status is None and self.error is None and self.latency is not None


@dataclass(frozen=True)
class FaultOutcome:
    """What the server does with a faulted request."""

    latency: float
    process: bool  # True: handle normally (after the delay); False: answer status/body without changing state
    status: int = 200
    body: dict[str, object] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Bucket:
    per_second: float
    burst: float
    tokens: float
    last: float


class Faults:
    """Fault rules plus optional per-method token-bucket rate limits."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._buckets: dict[str, _Bucket] = {}
        self._ids = itertools.count(1)

    def add(
        self,
        method: str | Iterable[str] | None = None,
        *,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        latency: float | None = None,
        error: str | None = None,
        until: float | None = None,
    ) -> FaultRule:
        methods = None if method is None else frozenset([method] if isinstance(method, str) else method)
        rule = FaultRule(next(self._ids), methods, status, times, retry_after, latency, error, until)
        self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        self._rules = [r for r in self._rules if r.id != rule.id]

    def clear(self) -> None:
        self._rules.clear()
        self._buckets.clear()

    def rate_limit(self, method: str, per_second: float, burst: int = 1) -> None:
        self._buckets[method] = _Bucket(per_second, float(burst), float(burst), time.monotonic())

    def check(self, method: str) -> FaultOutcome | None:
        """The outcome for a request to ``method``, or None to handle it normally. Counts the hit."""
        now = time.time()
        for rule in self._rules:
            if rule.applies_to(method, now):
                rule.hits += 1
                return _outcome(rule)
        return self._check_rate(method)

    def _check_rate(self, method: str) -> FaultOutcome | None:
        bucket = self._buckets.get(method)
        if bucket is None:
            return None
        now = time.monotonic()
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.last) * bucket.per_second)
        bucket.last = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        wait = math.ceil((1 - bucket.tokens) / bucket.per_second)
        return FaultOutcome(0.0, False, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)})


def _outcome(rule: FaultRule) -> FaultOutcome:
    latency = rule.latency or 0.0
    if rule.slow_only:
        return FaultOutcome(latency, True)
    if rule.error is not None:
        status = rule.status or 200
        return FaultOutcome(latency, False, status, {"ok": False, "error": rule.error})
    status = rule.status or 500
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = str(math.ceil(rule.retry_after if rule.retry_after is not None else 1))
    elif rule.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(rule.retry_after))
    error = _ERROR_BY_STATUS.get(status, "fatal_error" if status >= 500 else "request_failed")
    return FaultOutcome(latency, False, status, {"ok": False, "error": error}, headers)
