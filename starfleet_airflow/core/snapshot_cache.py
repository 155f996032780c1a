"""A tiny per-process cache of snapshots (content-addressed, so an entry can never be stale)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LruCache:
    """A thread-safe LRU keyed by location text (a process holds a few snapshots at most)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


SNAPSHOTS = LruCache(size=8)


def clear_cache() -> None:
    """Forget cached snapshots (tests and benchmarks use it to prove a task reads the stored object)."""
    SNAPSHOTS.clear()
