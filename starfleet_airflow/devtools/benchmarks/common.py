"""What every benchmark section shares: timing, medians, the stub SQS client, the ships, the references.

The reference figures are Starfleet's own Starbase code measured on these machines (BENCHMARKS.md,
2026-12-01): they cannot be re-measured here without Starfleet installed, so they are quoted, and every
section also computes the naive approach ("one ``json.dumps`` per target, one call at a time") in the
same run, so that a ratio never compares a quiet minute with a busy one.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    WorkerShipBaseConfigurationTemplate,
)
from starfleet_airflow.core.ship import StarfleetWorkerShip

# Starfleet's Starbase, measured here (BENCHMARKS.md): seconds
STARFLEET_FANOUT_5000x17 = 0.67  # fan-out 0.535 s + its index load 0.135 s
STARFLEET_RESOLUTION_5000x17 = 0.027
STARFLEET_SERIAL_SEND_15MS = 144.4
AIRFLOW_MAX_MAP_LENGTH = 1024

TEMPLATE = {
    "TemplateName": "Everywhere",
    "TemplateDescription": "Every account, every enabled region",
    "IncludeAccounts": {"AllAccounts": True},
    "IncludeRegions": ["ALL"],
}


class RegionShip(StarfleetWorkerShip):
    """ACCOUNT_REGION ship used for planning (its schema is all the benchmark needs)."""

    fan_out_strategy = FanOutStrategy.ACCOUNT_REGION
    payload_template_class = BaseAccountRegionPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


class AccountShip(StarfleetWorkerShip):
    """ACCOUNT ship used for the inline figures."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = BaseAccountPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


class StubSqs:
    """SendMessageBatch stand-in: counts calls and entries, checks SQS's limits, accepts every entry."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls = 0
        self.messages = 0
        self.largest_call = 0
        self.limit_errors = 0
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        joined = "".join([e["MessageBody"] for e in Entries])
        size = len(joined) if joined.isascii() else len(joined.encode())
        with self._lock:
            self.calls += 1
            self.messages += len(Entries)
            self.largest_call = max(self.largest_call, size)
            self.limit_errors += len(Entries) > 10 or size > 262_144
        if self.latency:
            time.sleep(self.latency)
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in Entries], "Failed": []}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call, with a collection beforehand so that earlier garbage is not billed."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Figure:
    """One printed line: a target, what was measured, its reference, and whether the target is met."""

    target: str
    measured: str
    reference: str
    met: bool | None  # None: informational

    def line(self) -> str:
        verdict = {True: "MET", False: "MISSED", None: "-"}[self.met]
        pad = " " * 11
        return f"  [{verdict:>6}] {self.target}\n{pad}measured: {self.measured}\n{pad}reference: {self.reference}"
