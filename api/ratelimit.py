"""Per-token rate limits: a token bucket for each token, refilled continuously."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


@dataclass
class RateLimiter:
    """``per_minute`` requests per minute per key, with bursts up to ``per_minute``."""

    per_minute: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def retry_after_s(self, key: str, now_s: float | None = None) -> float:
        """Take one request from ``key``'s bucket: 0 when allowed, else the seconds to wait."""
        now_s = time.monotonic() if now_s is None else now_s
        capacity = float(self.per_minute)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, now_s)
        rate_per_s = capacity / 60
        bucket.tokens = min(capacity, bucket.tokens + (now_s - bucket.updated_s) * rate_per_s)
        bucket.updated_s = now_s
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate_per_s
