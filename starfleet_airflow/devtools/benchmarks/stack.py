"""Targets 4 and 5 on the production stack (issue 9: Celery with two workers, PostgreSQL, Redis, the REST API).

``scripts/benchmark.py --only stack`` starts the stack's benchmark profile (``stack_runs.benchmark_stack``:
its own state folder and ``stack/benchmark/config``), measures, and takes it down by pid (a profile stack that
was already up is left up). This process serves the loopback SQS endpoint (15 ms per SendMessageBatch) and
points the profile's ``benchmark_sqs`` connection at it through the REST API; the workers send there.

* Target 4: the account index of 5,000 accounts x 17 regions is uploaded to the stand-in's S3, then
  ``starfleet_no_op_region_ship`` runs ``repeat`` times: 84,983 messages; span, wall time, deliver tasks per
  worker, and the calls the endpoint counted.
* Target 5: an index of 501 accounts replaces it, then ``starfleet_no_op_account_ship`` runs inline ``repeat``
  times: wall time, and the report (read through the REST API) must account for every one of the 500 accounts.
"""

from __future__ import annotations

import math
from typing import Any

from starfleet_airflow.devtools.benchmarks.common import STARFLEET_SERIAL_SEND_15MS, Figure, median
from starfleet_airflow.devtools.benchmarks.stack_runs import (
    SQS_CONN_ID,
    StackRun,
    benchmark_stack,
    measure_run,
    put_aws_connection,
    unpaused,
    upload_index,
)
from starfleet_airflow.devtools.sqs_endpoint import serve
from starfleet_airflow.devtools.synthetic_org import build_index

SQS_DAG = "starfleet_no_op_region_ship"
INLINE_DAG = "starfleet_no_op_account_ship"
INLINE_ACCOUNTS = 501  # 500 targets: the management account is left out
SQS_LATENCY = 0.015


def section_stack(repeat: int) -> list[Figure]:
    server, counts = serve(0, latency=SQS_LATENCY)
    # localhost, not 127.0.0.1: the stack's NO_PROXY names localhost, and every other plain-HTTP call goes
    # through the stand-in as a proxy (devtools/stand_in/ports.py).
    endpoint = f"http://localhost:{server.server_address[1]}"
    try:
        with benchmark_stack() as (stack, up_seconds):
            api = stack.api()
            put_aws_connection(api, SQS_CONN_ID, endpoint, stack)
            with unpaused(api, SQS_DAG, INLINE_DAG):
                upload_index(stack, build_index(5_000, 17, fewer_regions_every=10**9))
                sqs_runs, calls = [], []
                for _ in range(repeat):
                    counts.reset()
                    sqs_runs.append(measure_run(api, SQS_DAG))
                    calls.append(counts.as_dict())
                upload_index(stack, build_index(INLINE_ACCOUNTS, 3))
                inline_runs, reports = [], []
                for _ in range(repeat):
                    inline_runs.append(measure_run(api, INLINE_DAG))
                    reports.append(api.xcom(INLINE_DAG, inline_runs[-1].run_id, "report"))
    finally:
        server.shutdown()
        server.server_close()
    up = f"stack up {up_seconds:.0f} s" if up_seconds is not None else "stack was already up"
    return [sqs_figure(sqs_runs, calls, up), inline_figure(inline_runs, reports)]


def _runs(runs: list[StackRun], value: str) -> str:
    return ", ".join(f"{getattr(run, value):.1f}" for run in runs)


def sqs_figure(runs: list[StackRun], calls: list[dict[str, Any]], up: str) -> Figure:
    span, wall = median([r.deliver_span for r in runs]), median([r.wall for r in runs])
    messages = calls[0]["messages"]
    kept = all(
        c["calls"] == math.ceil(c["messages"] / 10)
        and not (c["too_many"] or c["too_long"])
        and c["messages"] == messages
        for c in calls
    )
    ok = all(r.state == "success" for r in runs)
    splits = "; ".join(f"{r.per_worker}" for r in runs)
    counted = ", ".join(f"{c['calls']:,}" for c in calls)
    return Figure(
        f"4. on the stack (Celery, two workers): {messages:,} messages to a loopback SQS endpoint at 15 ms per"
        " call, first deliver start to last deliver end <= 5 s",
        f"deliver span {span:.1f} s (runs: {_runs(runs, 'deliver_span')}), run wall time {wall:.1f} s (runs:"
        f" {_runs(runs, 'wall')}), {STARFLEET_SERIAL_SEND_15MS / span:.0f}x Starfleet's serial send;"
        f" {runs[0].deliver_tasks} deliver tasks per run, per worker: {splits}; endpoint counted"
        f" {counted} calls, limits {'kept' if kept else 'BROKEN'};"
        f" states {sorted({r.state for r in runs})}; {up}",
        f"Starfleet's serial send {STARFLEET_SERIAL_SEND_15MS} s; medians of {len(runs)} runs",
        span <= 5 and ok and kept,
    )


def inline_figure(runs: list[StackRun], reports: list[dict[str, Any]]) -> Figure:
    wall = median([r.wall for r in runs])
    accounts = INLINE_ACCOUNTS - 1
    visible = [
        r["targets"] == accounts and r["succeeded"] == accounts and r["successes_listed"] and len(r["rows"]) == accounts
        for r in reports
    ]
    labelled = all(all(run.labels) for run in runs)
    ok = all(r.state == "success" for r in runs)
    return Figure(
        f"5. (stack half) inline, {accounts} accounts, no-op ship: <= 20 s per run, every account's outcome visible",
        f"run wall time {wall:.1f} s (runs: {_runs(runs, 'wall')}); {runs[0].deliver_tasks} deliver tasks, per"
        f" worker {runs[0].per_worker}; report: {reports[0]['succeeded']} of {reports[0]['targets']} succeeded,"
        f" {len(reports[0]['rows'])} account rows ({sum(visible)} of {len(reports)} runs list every account);"
        f" labels {'on every task' if labelled else 'MISSING on some tasks'}, e.g. {runs[0].labels[0]!r};"
        f" states {sorted({r.state for r in runs})}",
        f"issue 11: 184 s with one task per account under dags test; medians of {len(runs)} runs",
        wall <= 20 and ok and all(visible) and labelled,
    )
