"""Run calls concurrently with a time limit on each, on threads that can never keep the process alive.

Python cannot stop a thread. ``ThreadPoolExecutor`` makes it worse for a hung call: its workers are
joined when the pool shuts down and again when the interpreter exits, so one ship blocked on a network
read that never returns holds the deliver task (and, with ``MaxActiveRuns: 1``, every later run) until
someone kills it. Here each call runs on a daemon thread; a call that exceeds its limit is given up
(its result becomes ``on_timeout(item)``), a fresh thread takes its place so the others keep their
concurrency, and nothing ever waits for the abandoned thread: when the task returns, its process exits
and the thread goes with it. Waiting is on a condition with a deadline, never a polling sleep.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Run(Generic[Item, Result]):
    """The shared state of one ``run_with_limits`` call, guarded by one condition."""

    def __init__(self, items: Sequence[Item], call: Callable[[Item], Result], limit: float, name: str) -> None:
        self.items = items
        self.call = call
        self.limit = limit
        self.name = name
        self.condition = threading.Condition()
        self.waiting: deque[int] = deque(range(len(items)))
        self.started: dict[int, float] = {}  # position -> monotonic start, while running
        self.results: dict[int, Result] = {}
        self.given_up: set[int] = set()
        self.threads = 0

    def start_thread(self) -> None:
        self.threads += 1
        threading.Thread(target=self._work, name=f"{self.name}-{self.threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self.condition:
                if not self.waiting:
                    return
                position = self.waiting.popleft()
                self.started[position] = time.monotonic()
                self.condition.notify_all()
            result = self.call(self.items[position])
            with self.condition:
                self.started.pop(position, None)
                if position in self.given_up:
                    return  # a replacement thread took this one's place long ago
                self.results[position] = result
                self.condition.notify_all()


def run_with_limits(
    items: Sequence[Item],
    call: Callable[[Item], Result],
    *,
    workers: int,
    limit_seconds: float,
    on_timeout: Callable[[Item], Result],
    name: str = "bounded",
) -> list[Result]:
    """``[call(item) for item in items]`` on up to ``workers`` daemon threads, each call within ``limit_seconds``.

    Results come back in the order of ``items``; a call still running ``limit_seconds`` after it started
    contributes ``on_timeout(item)`` instead. ``call`` must not raise (wrap it to turn errors into results).
    """
    if not items:
        return []
    run: _Run[Item, Result] = _Run(items, call, limit_seconds, name)
    with run.condition:
        for _ in range(max(1, min(workers, len(items)))):
            run.start_thread()
        while len(run.results) < len(items):
            now = time.monotonic()
            for position, started in list(run.started.items()):
                if now - started >= limit_seconds:
                    del run.started[position]
                    run.given_up.add(position)
                    run.results[position] = on_timeout(items[position])
                    if run.waiting:
                        run.start_thread()
            if len(run.results) == len(items):
                break
            deadlines = [started + limit_seconds for started in run.started.values()]
            run.condition.wait(timeout=max(0.0, min(deadlines) - now) if deadlines else None)
    return [run.results[position] for position in range(len(items))]
