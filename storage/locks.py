"""Per-learner locks: in-process by default, Redis when several processes share the work."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import redis


class LocalLocks:
    """Locks shared by the threads of one process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = threading.Lock()
                self._locks[key] = lock
        with lock:
            yield


class RedisLocks:
    """Locks shared by every process that uses the same Redis. A lock expires if its holder dies."""

    def __init__(
        self, client: redis.Redis, *, prefix: str = "pau:lock:", ttl_seconds: float = 60
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        lock = self.client.lock(
            self.prefix + key, timeout=self.ttl_seconds, blocking_timeout=self.ttl_seconds
        )
        if not lock.acquire():
            raise TimeoutError(f"could not lock {key} within {self.ttl_seconds}s")
        try:
            yield
        finally:
            # If it expired while we worked, the database row lock still protected us.
            with contextlib.suppress(redis.exceptions.LockNotOwnedError):
                lock.release()
