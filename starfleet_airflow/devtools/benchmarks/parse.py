"""Target 7: parse time of ``dags/starfleet_dags.py`` with 50 ships, beyond Airflow's own import.

A generated configuration of 50 enabled ships and a package of 50 generated ship classes; each run is a
fresh interpreter with ``socket.connect`` refused, which imports Airflow's SDK and DagBag first (that
import is Airflow's own cost), then parses the DAG folder and reports the parts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from starfleet_airflow.devtools.benchmarks.common import Figure, median

REPO = Path(__file__).resolve().parents[3]

SHIP_PACKAGE = '''"""50 generated ships for the parse benchmark."""
from starfleet_airflow import (
    BaseAccountRegionPayloadTemplate,
    FanOutStrategy,
    StarfleetWorkerShip,
    WorkerShipBaseConfigurationTemplate,
)

WORKER_SHIP_PLUGINS = [
    type(
        f"Bench{i:02d}WorkerShip",
        (StarfleetWorkerShip,),
        {
            "__doc__": f"Generated ship number {i}.",
            "fan_out_strategy": FanOutStrategy.ACCOUNT_REGION,
            "payload_template_class": BaseAccountRegionPayloadTemplate,
            "configuration_template_class": WorkerShipBaseConfigurationTemplate,
        },
    )
    for i in range(50)
]
'''

PARSE_PROBE = """
import json, socket, sys, time
def refuse(*args, **kwargs):
    raise RuntimeError("network access during parse")
socket.socket.connect = refuse
socket.create_connection = refuse
t0 = time.perf_counter()
import airflow.sdk
from airflow.dag_processing.dagbag import DagBag
t1 = time.perf_counter()
import starfleet_airflow.airflow.dags as factory
t2 = time.perf_counter()
parts = {"configuration": 0.0, "ships": 0.0, "dags": 0.0}
def timed(name, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            parts[name] += time.perf_counter() - start
    return wrapper
factory.load_configuration = timed("configuration", factory.load_configuration)
factory.load_ships = timed("ships", factory.load_ships)
factory.build_ship_dag = timed("dags", factory.build_ship_dag)
bag = DagBag(dag_folder=sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"airflow": t1 - t0, "import": t2 - t1, "dags_file": t3 - t1, "dag_count": len(bag.dags),
                  "errors": len(bag.import_errors), **parts}))
"""


def section_parse(repeat: int) -> list[Figure]:
    """Target 7: fresh interpreters parse the DAG file with 50 generated ships, the network disabled."""
    with tempfile.TemporaryDirectory(prefix="starfleet-parse-") as tmp:
        root = Path(tmp)
        (root / "ships" / "bench_fleet").mkdir(parents=True)
        (root / "ships" / "bench_fleet" / "__init__.py").write_text(SHIP_PACKAGE)
        (root / "config").mkdir()
        sections: dict[str, Any] = {
            "STARFLEET": {
                "DeploymentRegion": "us-east-1",
                "TemplateLocation": "s3://bench-templates/",
                "AccountIndexLocation": "s3://bench-index/accountIndex.json",
            }
        }
        frequencies = ["FIVE_MIN", "HOURLY", "DAILY", "SIX_HOURLY"]
        for i in range(50):
            sections[f"Bench{i:02d}WorkerShip"] = {
                "Enabled": True,
                "TemplatePrefix": f"Bench{i:02d}WorkerShip/",
                "InvocationQueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/bench-{i}",
                "InvocationSources": ["EVENTBRIDGE_TIMED_EVENT"],
                "EventBridgeTimedFrequency": frequencies[i % len(frequencies)],
            }
        (root / "config" / "configuration.yaml").write_text(yaml.safe_dump(sections))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "STARFLEET_CONFIG_DIR": str(root / "config"),
            "STARFLEET_SHIPS_DIR": str(root / "ships"),
            "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
        runs = []
        for _ in range(repeat):
            output = subprocess.run(
                [sys.executable, "-c", PARSE_PROBE, str(REPO / "dags")],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
    assert all(run["dag_count"] == 50 and run["errors"] == 0 for run in runs), runs

    def med(key: str) -> float:
        return median([run[key] for run in runs])

    beyond = med("dags_file")
    return [
        Figure(
            "7. parse: the DAG file with 50 ships <= 0.2 s beyond Airflow's own import (fresh process, no network)",
            f"{beyond:.3f} s beyond Airflow's import ({med('airflow'):.2f} s): importing starfleet_airflow"
            f" {med('import'):.3f} s, configuration {med('configuration'):.3f} s, ship discovery"
            f" {med('ships'):.3f} s, building the 50 DAGs {med('dags'):.3f} s; {runs[0]['dag_count']} DAGs, no error",
            "dag-factory 1.1.0: 0.898 s for 50 YAML DAGs of the same shape (BENCHMARKS.md); 0.357 s before this work",
            beyond <= 0.2,
        )
    ]
