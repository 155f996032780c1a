"""Target 6: a million targets (50,000 accounts x 20 regions) in one run.

Each run is a fresh interpreter (``python -m starfleet_airflow.devtools.benchmarks.scale INDEX DIR``),
so its peak RSS is the plan task's: the interpreter, the imports, the index, the plan and the stored
snapshot. It prints the plan body's time, the peak, the number of mapped units against Airflow's
``max_map_length`` and the size of the plan's one XCom value (the unit descriptors); the rows per task
are fixed by the DAG (``tests/test_factory_xcom.py`` counts them in a real run).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starfleet_airflow.devtools.benchmarks.common import AIRFLOW_MAX_MAP_LENGTH, Figure, median

ACCOUNTS, REGIONS = 50_001, 20  # account 0 is the management account, left out of the targets


def _plan_once(index_file: Path, snapshots: Path) -> dict[str, float]:
    """In the child: the plan task's body, timed, then the process's peak RSS."""
    from starfleet_airflow.devtools.benchmarks.fanout import plan_and_store

    started = time.perf_counter()
    descriptors = plan_and_store(index_file, snapshots)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "targets": sum(d["stop"] - d["start"] for d in descriptors),
        "units": len(descriptors),
        "xcom_bytes": len(json.dumps(descriptors)),
    }


def section_scale(repeat: int) -> list[Figure]:
    from starfleet_airflow.devtools.synthetic_org import build_index

    with tempfile.TemporaryDirectory(prefix="starfleet-bench-") as tmp:
        index_file = Path(tmp) / "accountIndex.json"
        index_file.write_bytes(json.dumps(build_index(ACCOUNTS, REGIONS, fewer_regions_every=10**9)).encode())
        runs = []
        for run in range(repeat):
            output = subprocess.run(
                [sys.executable, "-m", __name__, str(index_file), str(Path(tmp) / f"snap{run}")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        size_mib = index_file.stat().st_size / 2**20
    seconds = median([r["seconds"] for r in runs])
    peak = max(r["peak_mib"] for r in runs)
    first = runs[0]
    fits = first["units"] <= AIRFLOW_MAX_MAP_LENGTH
    return [
        Figure(
            f"6. {first['targets']:,} targets ({ACCOUNTS - 1:,} accounts x {REGIONS} regions) in one run: plan body"
            " <= 10 s, peak RSS <= 1.5 GiB, within max_map_length, <= 2 XCom rows per task",
            f"plan body {seconds:.2f} s (index of {size_mib:.0f} MiB read, planned, snapshot stored), peak RSS"
            f" {peak:.0f} MiB, {first['units']} mapped deliver tasks (max_map_length {AIRFLOW_MAX_MAP_LENGTH}),"
            f" plan XCom {first['xcom_bytes'] / 1024:.0f} KiB; rows per task: plan 2, deliver 1, report 1",
            "issue 11: 400,000 targets took 52 s and 501 MiB before this work",
            fits and seconds <= 10 and peak <= 1536,
        )
    ]


if __name__ == "__main__":
    print(json.dumps(_plan_once(Path(sys.argv[1]), Path(sys.argv[2]))))
