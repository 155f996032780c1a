"""Targets 4 and 5 under ``airflow dags test``: whole runs through Airflow, on this machine.

* Inline (target 5): 500 accounts, a ship that does nothing, at the default unit size (at most 32
  tasks per template) and at other sizes (``Airflow.TargetsPerUnit``), so the default's trade-off shows.
* SQS at the network's pace (target 4, the ``dags test`` half): 85,000 messages to the loopback SQS
  endpoint answering each SendMessageBatch after 15 ms; the stack half is ``stack.py``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from starfleet_airflow.devtools.benchmarks.common import STARFLEET_SERIAL_SEND_15MS, TEMPLATE, Figure, median
from starfleet_airflow.devtools.benchmarks.dagrun import Bench
from starfleet_airflow.devtools.sqs_endpoint import serve
from starfleet_airflow.devtools.synthetic_org import build_index

INLINE_ACCOUNTS = 501  # 500 targets: the management account is left out
INLINE_SIZES = (None, 100)  # None: the default rule (32 tasks of 15-16 accounts); else Airflow.TargetsPerUnit


def section_inline(repeat: int) -> list[Figure]:
    template = {k: v for k, v in TEMPLATE.items() if k != "IncludeRegions"}
    results: dict[int | None, list] = {}
    with tempfile.TemporaryDirectory(prefix="starfleet-bench-") as tmp:
        bench = Bench(Path(tmp))
        for size in INLINE_SIZES:
            airflow = {"DeliveryMode": "INLINE", **({"TargetsPerUnit": size} if size else {})}
            ships = {"NoOpAccountShip": {"Enabled": True, "TemplatePrefix": "NoOpAccountShip/", "Airflow": airflow}}
            bench.deploy(build_index(INLINE_ACCOUNTS, 3), ships, template)
            results[size] = [bench.run("starfleet_no_op_account_ship") for _ in range(repeat)]
    default = results[None]
    wall = median([r.wall for r in default])
    others = "; ".join(
        f"TargetsPerUnit {size}: {results[size][0].deliver_tasks} tasks,"
        f" run {median([r.run for r in results[size]]):.1f} s"
        for size in INLINE_SIZES
        if size
    )
    return [
        Figure(
            "5. inline, 500 accounts, no-op ship: <= 20 s per run under `airflow dags test`",
            f"default units: {default[0].deliver_tasks} deliver tasks, run {median([r.run for r in default]):.1f} s,"
            f" whole `airflow dags test` {wall:.1f} s (state {default[0].state}); {others}",
            "issue 11: 184 s with one task per account (0.4 s per task instance); the report lists every account",
            wall <= 20 and all(r.state == "success" for r in default),
        )
    ]


def section_sqs_dags_test(repeat: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="starfleet-bench-") as tmp:
        server, counts = serve(0, latency=0.015)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            bench = Bench(Path(tmp))
            ships = {
                "NoOpRegionShip": {
                    "Enabled": True,
                    "TemplatePrefix": "NoOpRegionShip/",
                    "InvocationQueueUrl": f"{url}/123456789012/bench",
                }
            }
            bench.deploy(build_index(5_000, 17, fewer_regions_every=10**9), ships, TEMPLATE)
            runs = []
            for _ in range(repeat):
                counts.reset()
                runs.append(bench.run("starfleet_no_op_region_ship", {"endpoint_url": url}))
                stats = counts.as_dict()
        finally:
            server.shutdown()
            server.server_close()
    span = median([r.deliver_span for r in runs])
    ok = stats["calls"] == math.ceil(stats["messages"] / 10) and not (stats["too_many"] or stats["too_long"])
    return [
        Figure(
            f"4. (dags test half) {stats['messages']:,} messages to a loopback SQS endpoint at 15 ms per call",
            f"first deliver start to last deliver end {span:.1f} s ({runs[0].deliver_tasks} deliver tasks run one"
            f" after another by `dags test`, 8 threads each); whole run {median([r.run for r in runs]):.1f} s,"
            f" `airflow dags test` process {median([r.wall for r in runs]):.1f} s;"
            f" {STARFLEET_SERIAL_SEND_15MS / span:.0f}x Starfleet's serial send; {stats['calls']:,} calls, limits"
            f" {'kept' if ok else 'BROKEN'}",
            f"Starfleet's serial send {STARFLEET_SERIAL_SEND_15MS} s; 30.9 s for a full dags test before this work;"
            " the <= 5 s target is for the production stack (--stack)",
            None,
        )
    ]
