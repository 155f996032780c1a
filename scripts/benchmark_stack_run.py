"""Wall time of one full ship run on the running stack (scripts/stack.sh up), read back from Airflow.

    .venv/bin/python scripts/benchmark_stack_run.py [--dag starfleet_aws_config_worker_ship] [--runs 3]

Per run it triggers the DAG through the REST API (full scope, no conf), waits for it, and prints: the run's
wall time (queued -> end, as Airflow recorded it), the span from the first deliver task's start to the
last one's end, the deliver tasks per worker, and the messages the plan counted. The median comes last.
Heavy: run it under flock /tmp/heavy.lock. Messages stay on the stand-in's queue (in memory, each with its
run id), and moto's SendMessageBatch slows down as its queue grows (measured: 34.6, 70.6, 117.1 s for three
runs in a row): compare run 1 on a freshly started stand-in, or restart the stand-in between runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starfleet_airflow.devtools.stack.api import StackEnv  # noqa: E402


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag", default="starfleet_aws_config_worker_ship")
    parser.add_argument("--runs", type=int, default=3)
    default_env = os.environ.get("STARFLEET_STACK_ENV") or ROOT / ".starfleet/stack/stack.env"
    parser.add_argument("--env", type=Path, default=Path(default_env))
    args = parser.parse_args()
    stack = StackEnv.load(args.env)
    api = stack.api()
    api.set_paused(args.dag, False)
    walls = []
    try:
        for number in range(1, args.runs + 1):
            run_id = f"benchmark-{uuid.uuid4().hex[:8]}"
            started = time.monotonic()
            api.trigger(args.dag, run_id)
            run = api.wait_for_run(args.dag, run_id, timeout=1800, interval=1.0)
            polled = time.monotonic() - started
            tis = api.task_instances(args.dag, run_id)
            delivers = [ti for ti in tis if ti["task_id"] == "deliver"]
            wall = (_t(run["end_date"]) - _t(run["queued_at"])).total_seconds()
            first, last = min(_t(t["start_date"]) for t in delivers), max(_t(t["end_date"]) for t in delivers)
            span = (last - first).total_seconds()
            summary = api.xcom(args.dag, run_id, "plan", key="summary")
            walls.append(wall)
            split = dict(sorted(Counter(t["hostname"] for t in delivers).items()))
            print(
                f"run {number}: {run['state']}, {summary['total_targets']} targets, wall {wall:.1f} s"
                f" (client saw {polled:.1f} s), deliver span {span:.1f} s, {len(delivers)} deliver tasks {split}"
            )
    finally:
        api.set_paused(args.dag, True)
    print(f"median wall time of {len(walls)} runs: {statistics.median(walls):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
