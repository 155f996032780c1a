"""Every BENCHMARKS.md target, measured here, next to its reference and the ratio (medians of --repeat runs).

Run: ``.venv/bin/python scripts/benchmark.py [--repeat 5] [--only fanout,resolution,...] [--stack]``
(under ``flock /tmp/heavy.lock`` on a shared machine). Sections, in the order printed:

  fanout      1. plan + snapshot + every deliver task at 5,000 x 17, index read included, zero-latency stub;
              2. a cold deliver task of a 10,000-target unit of a 400,000-target template;
              3. SQS calls and the 10-entry / 256 KiB limits
  resolution  8. per-target cost from 1,000 to 50,000 accounts
  scale       6. a million targets in one run: plan body, peak RSS, units, XCom
  parse       7. the DAG file with 50 ships, beyond Airflow's own import
  inline      5. 500 accounts inline, whole runs under ``airflow dags test``
  sqs         4. (dags test half) 85,000 messages to the loopback SQS endpoint at 15 ms per call
  stack       4. and 5. on the production stack (Celery, two workers): only with --stack or --only stack;
              starts the stack's benchmark profile (stack/benchmark/, state in .starfleet/stack-benchmark),
              measures through the REST API and stops it again, by pid

The code lives in ``starfleet_airflow/devtools/benchmarks/`` (one module per family). Everything runs on
this machine: stub clients, the loopback SQS endpoint, SQLite for ``dags test``, the stack's processes;
no network.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starfleet_airflow.devtools.benchmarks import fanout, parse, resolution, runs, scale, stack

SECTIONS = {
    "fanout": lambda r: fanout.section_fanout(r) + fanout.section_cold_deliver(r),
    "resolution": resolution.section_resolution,
    "scale": scale.section_scale,
    "parse": parse.section_parse,
    "inline": runs.section_inline,
    "sqs": runs.section_sqs_dags_test,
    "stack": stack.section_stack,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (medians are printed); at least 5")
    parser.add_argument("--only", default="", help="comma-separated sections (default: all but stack)")
    parser.add_argument("--stack", action="store_true", help="also the figures measured on the production stack")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or [s for s in SECTIONS if s != "stack"]
    if args.stack and "stack" not in chosen:
        chosen.append("stack")
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; expected some of {sorted(SECTIONS)}")
    print(
        f"starfleet-airflow benchmarks (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, medians of"
        f" {args.repeat} runs; references: BENCHMARKS.md)"
    )
    for name in chosen:
        started = time.perf_counter()
        figures = SECTIONS[name](args.repeat)
        print(f"\n{name} ({time.perf_counter() - started:.0f} s)")
        for figure in figures:
            print(figure.line())


if __name__ == "__main__":
    main()
