"""Wall time of one full ship run on the running stack (scripts/stack.sh up), read back from Airflow.

    .venv/bin/python scripts/benchmark_stack_run.py [--dag starfleet_aws_config_worker_ship] [--runs 3]

Per run it triggers the DAG through the REST API (full scope, no conf), waits for it, and prints: the run's
wall time (queued -> end, as Airflow recorded it), the span from the first deliver task's start to the
last one's end, the deliver tasks per worker, and the messages the plan counted. The median comes last.
Heavy: run it under flock /tmp/heavy.lock. Messages stay on the stand-in's queue (in memory, each with its
run id), and moto's SendMessageBatch slows down as its queue grows (measured: 34.6, 70.6, 117.1 s for three
runs in a row): compare run 1 on a freshly started stand-in, or restart the stand-in between runs.
The benchmark's own stack figures (targets 4 and 5, loopback SQS endpoint): scripts/benchmark.py --only stack.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starfleet_airflow.devtools.benchmarks.stack_runs import measure_run, unpaused  # noqa: E402
from starfleet_airflow.devtools.stack.api import StackEnv  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dag", default="starfleet_aws_config_worker_ship")
    parser.add_argument("--runs", type=int, default=3)
    default_env = os.environ.get("STARFLEET_STACK_ENV") or ROOT / ".starfleet/stack/stack.env"
    parser.add_argument("--env", type=Path, default=Path(default_env))
    args = parser.parse_args()
    api = StackEnv.load(args.env).api()
    walls = []
    with unpaused(api, args.dag):
        for number in range(1, args.runs + 1):
            run = measure_run(api, args.dag, timeout=1800)
            summary = api.xcom(args.dag, run.run_id, "plan", key="summary")
            walls.append(run.wall)
            print(
                f"run {number}: {run.state}, {summary['total_targets']} targets, wall {run.wall:.1f} s,"
                f" deliver span {run.deliver_span:.1f} s, {run.deliver_tasks} deliver tasks {dict(run.per_worker)}"
            )
    print(f"median wall time of {len(walls)} runs: {statistics.median(walls):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
