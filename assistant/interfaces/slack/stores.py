"""The bot's memory, in process: events already answered, questions per user and minute,
conversations per thread, answers waiting for their "Share" button.

One bot process serves one workspace, so nothing is shared between processes; all of it is
forgotten on restart (a restarted bot answers a thread as a new conversation).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from assistant.types import Turn


class SeenOnce:
    """Remembers keys for `ttl_s`; `first(key)` is True only the first time a key is offered."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 50_000) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._items: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._items and (next(iter(self._items.values())) < now or len(self._items) >= self._max):
                self._items.popitem(last=False)
            if key in self._items:
                return False
            self._items[key] = now + self._ttl
            return True


class RateLimiter:
    """Sliding one-minute window per user. `check` returns 0 when allowed, else seconds to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user: str) -> float:
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(user, deque())
            while hits and hits[0] <= now - 60.0:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1.0, 60.0 - (now - hits[0]))
            hits.append(now)
            return 0.0


class Histories:
    """Conversation turns per Slack thread, least recently used threads forgotten first."""

    def __init__(self, max_threads: int = 1000, max_turns: int = 20) -> None:
        self._threads: OrderedDict[str, list[Turn]] = OrderedDict()
        self._max_threads = max_threads
        self._max_turns = max_turns
        self._lock = threading.Lock()

    def get(self, key: str) -> list[Turn]:
        with self._lock:
            turns = self._threads.get(key)
            if turns is None:
                return []
            self._threads.move_to_end(key)
            return list(turns)

    def add(self, key: str, *turns: Turn) -> None:
        with self._lock:
            kept = [*self._threads.pop(key, []), *turns][-self._max_turns :]
            self._threads[key] = kept
            while len(self._threads) > self._max_threads:
                self._threads.popitem(last=False)


@dataclass(frozen=True)
class Shareable:
    user: str
    question: str
    parts: list[str]
    language: str


class Shares:
    """Ephemeral answers waiting for their "Share" button (a button value holds only 2000 chars)."""

    def __init__(self, ttl_s: float = 3600.0, max_items: int = 1000) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._items: OrderedDict[str, tuple[float, Shareable]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, item: Shareable) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._items[key] = (time.monotonic() + self._ttl, item)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Shareable | None:
        with self._lock:
            entry = self._items.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
