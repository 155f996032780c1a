# ruff: noqa: E402  (imports follow the sys.path set-up below)
"""Benchmark the DAG factory's fan-out against the naive approach (BENCHMARKS.md targets 1-5).

Run: ``.venv/bin/python scripts/benchmark.py [--repeat 5] [--skip-parse]``. Everything runs locally: SQS
is a stub that records calls (and, for the latency model, sleeps 15 ms per call); no network.

Printed, as medians of ``--repeat`` runs (ratios are computed inside each run, then the median taken):

1. For 100 / 1,000 / 5,000 accounts x 20 regions (ACCOUNT_REGION, one ``AllAccounts`` / ``ALL`` template):
   targets; mapped task instances, ours vs naive one per target; SQS calls, ours vs one message per
   call; our planning time (validate, resolve, cut, snapshot bytes); our render + batch time (all bodies
   and their SendMessageBatch batches) next to the naive one ``json.dumps`` per target (Starfleet's
   Starbase: set the keys, dump, wrap in an entry), measured side by side.
2. BENCHMARKS.md's reference case, 5,000 accounts x 17 regions = 85,000 messages: render + batch ratio
   (with and without building the entry dicts), SQS calls, and delivery through the deliver tasks' code
   under a stub sleeping 15 ms per call (concurrent threads in each task, mapped tasks in parallel
   worker slots) next to Starbase's serial sending (8,500 x 15 ms = 127.5 s, modelled).
3. Task instances for 100,000 targets without raising ``max_map_length``, and inline delivery's one row
   per account where it fits.
4. Parse time of ``dags/starfleet_dags.py`` with 50 ships (a generated configuration and 50 generated
   ship classes), beyond Airflow's own import, in fresh interpreters, with the network disabled.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import WorkUnit, plan_run, unit_targets
from starfleet_airflow.core.render import BodyRenderer
from starfleet_airflow.core.schemas import (
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    WorkerShipBaseConfigurationTemplate,
)
from starfleet_airflow.core.ship import StarfleetWorkerShip
from starfleet_airflow.core.templates import LoadedTemplate
from starfleet_airflow.delivery.sqs import SqsSender
from starfleet_airflow.delivery.sqs_batches import attributes_size, cut_batches, message_attributes
from starfleet_airflow.devtools.synthetic_org import build_index

MAX_MAP_LENGTH = 1024  # Airflow's default core.max_map_length, never raised here
LATENCY = 0.015  # seconds per SendMessageBatch call in the latency model
WORKER_SLOTS = 16  # mapped deliver tasks running at once (Airflow's default max_active_tasks_per_dag)
TEMPLATE = {
    "TemplateName": "Everywhere",
    "TemplateDescription": "Every account, every enabled region",
    "IncludeAccounts": {"AllAccounts": True},
    "IncludeRegions": ["ALL"],
}


ATTRIBUTES = message_attributes(
    dag_run_id="manual__2026-11-23T00:00:00+00:00", ship="RegionShip", template="bench.yaml"
)


class RegionShip(StarfleetWorkerShip):
    """ACCOUNT_REGION ship used for planning (its schema is all the benchmark needs)."""

    fan_out_strategy = FanOutStrategy.ACCOUNT_REGION
    payload_template_class = BaseAccountRegionPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


class AccountShip(StarfleetWorkerShip):
    """ACCOUNT ship used for the inline row-per-account figure."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = BaseAccountPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


class StubSqs:
    """SendMessageBatch stand-in: counts calls, accepts every entry, optionally sleeps per call."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls = 0
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        if self.latency:
            time.sleep(self.latency)
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in Entries], "Failed": []}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def loaded_template(template: dict[str, Any], key: str = "bench/everywhere.yaml") -> LoadedTemplate:
    return LoadedTemplate(key, template, None, Location(None, key))


def plan(index_data: dict[str, Any], mode: DeliveryMode, ship: type = RegionShip, template: dict | None = None) -> Any:
    return plan_run(
        ship,
        index_data=index_data,
        index_source="synthetic",
        templates=[loaded_template(template or TEMPLATE)],
        template_prefix="bench/",
        delivery_mode=mode,
        max_units=MAX_MAP_LENGTH,
    )


def unit_target_lists(run_plan: Any) -> list[tuple[WorkUnit, list[tuple[str | None, str | None]]]]:
    """Each unit with its targets, resolved once: both sides of the render comparison start from them."""
    return [(unit, unit_targets(run_plan.view, unit)) for unit in run_plan.units]


def render_and_batch(run_plan: Any, units: list, *, entries: bool, template: dict[str, Any] | None = None) -> int:
    """What the deliver tasks compute before sending: bodies, batches and (optionally) the entries.

    The entries are built by the sender's own ``build_entries``, with the tracing attributes the deliver
    task sets, so this times the code that runs.
    """
    batches_total = 0
    sender = SqsSender(None, "https://sqs.us-east-1.amazonaws.com/123456789012/bench", attributes=ATTRIBUTES)
    for unit, targets in units:
        bodies = BodyRenderer(template or run_plan.snapshot.templates[unit.template]).bodies(targets)
        batches, _ = cut_batches(bodies, extra_bytes=attributes_size(ATTRIBUTES))
        batches_total += len(batches)
        if entries:
            sender.build_entries(bodies, targets)
    return batches_total


def naive_render(units: list, template: dict[str, Any]) -> int:
    """Starfleet's Starbase: set the keys on the template, json.dumps it, one entry per target."""
    template = json.loads(json.dumps(template))
    batch: list[dict[str, str]] = []
    batches = 0
    for _unit, targets in units:
        for account_id, region in targets:
            template["StarbaseAssignedAccount"] = account_id
            template["StarbaseAssignedRegion"] = region
            batch.append({"Id": f"{account_id}{region}", "MessageBody": json.dumps(template)})
            if len(batch) == 10:
                batches += 1
                batch = []
    return batches + (1 if batch else 0)


def deliver_all(run_plan: Any, client: StubSqs, slots: int) -> float:
    """Run every unit's SQS delivery as the deliver tasks do, ``slots`` tasks at a time; wall seconds."""

    def one(unit: WorkUnit) -> None:
        targets = unit_targets(run_plan.view, unit)
        bodies = BodyRenderer(run_plan.snapshot.templates[unit.template]).bodies(targets)
        report = SqsSender(client, "https://sqs.us-east-1.amazonaws.com/1/q", concurrency=8).send(bodies, targets)
        assert report.sent == len(targets)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=slots) as pool:
        list(pool.map(one, run_plan.units))
    return time.perf_counter() - start


def section_sizes(repeat: int) -> None:
    print("\n1. Fan-out cost, ACCOUNT_REGION, one AllAccounts/ALL template, 20 regions (medians)")
    header = (
        f"{'accounts':>8} {'targets':>8} | {'tasks ours':>10} {'naive':>7} | {'SQS calls':>9} {'naive':>7} | "
        f"{'plan':>7} {'render+entries':>14} {'naive dumps':>11} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for accounts in (100, 1_000, 5_000):
        index_data = build_index(accounts, 20)
        plans, renders, naives, ratios = [], [], [], []
        for _ in range(repeat):
            seconds, run_plan = timed(lambda: plan(index_data, DeliveryMode.SQS))  # noqa: B023
            seconds += timed(run_plan.snapshot.to_json)[0]
            plans.append(seconds)
            units = unit_target_lists(run_plan)
            ours, batches = timed(lambda: render_and_batch(run_plan, units, entries=True))  # noqa: B023
            naive, naive_batches = timed(lambda: naive_render(units, TEMPLATE))  # noqa: B023
            renders.append(ours)
            naives.append(naive)
            ratios.append(naive / ours)
        targets = run_plan.total_targets
        stub = StubSqs()
        deliver_all(run_plan, stub, WORKER_SLOTS)
        assert stub.calls == math.ceil(targets / 10) == batches == naive_batches
        print(
            f"{accounts:>8} {targets:>8} | {len(run_plan.units):>10} {targets:>7} | {stub.calls:>9} {targets:>7} | "
            f"{median(plans):>6.3f}s {median(renders):>13.3f}s {median(naives):>10.3f}s {median(ratios):>5.1f}x"
        )
    print("tasks: mapped deliver task instances (naive: one per target); SQS calls counted on a recording stub")


def section_reference(repeat: int) -> None:
    print("\n2. BENCHMARKS.md reference: 5,000 accounts x 17 regions (Starbase: 8,500 calls, ~0.70 s fan-out)")
    index_data = build_index(5_000, 17, fewer_regions_every=10**9)
    run_plan = plan(index_data, DeliveryMode.SQS)
    targets = run_plan.total_targets
    units = unit_target_lists(run_plan)
    bare, with_entries, naive, ratio_bare, ratio_entries = [], [], [], [], []
    for _ in range(repeat):
        ours = timed(lambda: render_and_batch(run_plan, units, entries=False))[0]
        ours_entries = timed(lambda: render_and_batch(run_plan, units, entries=True))[0]
        reference = timed(lambda: naive_render(units, TEMPLATE))[0]
        bare.append(ours)
        with_entries.append(ours_entries)
        naive.append(reference)
        ratio_bare.append(reference / ours)
        ratio_entries.append(reference / ours_entries)
    print(f"   messages {targets}, work units {len(run_plan.units)}, SendMessageBatch calls {math.ceil(targets / 10)}")
    print(
        f"   target 1, render + batch: ours {median(bare):.3f}s ({median(ratio_bare):.1f}x faster), with the entry"
        f" dicts {median(with_entries):.3f}s ({median(ratio_entries):.1f}x); naive json.dumps per target"
        f" {median(naive):.3f}s"
    )
    sample = REPO / "templates" / "AwsConfigWorkerShip" / "enable_aws_config.yaml"
    if sample.exists():  # a realistic template: more structure per body, so json.dumps costs more
        realistic = yaml.safe_load(sample.read_text())
        ratios = []
        for _ in range(repeat):
            ours = timed(lambda: render_and_batch(run_plan, units, entries=True, template=realistic))[0]
            ratios.append(timed(lambda: naive_render(units, realistic))[0] / ours)
        print(
            f"   same targets with the sample {sample.name} ({len(json.dumps(realistic))} bytes of JSON): ours with"
            f" the entry dicts {median(ratios):.1f}x faster than json.dumps per target"
        )
    walls = []
    for _ in range(max(1, min(repeat, 3))):
        stub = StubSqs(LATENCY)
        walls.append(deliver_all(run_plan, stub, WORKER_SLOTS))
        assert stub.calls == math.ceil(targets / 10)
    one_task = StubSqs(LATENCY)
    single = deliver_all(run_plan, one_task, 1)
    serial = math.ceil(targets / 10) * LATENCY
    print(
        f"   target 3, delivery at 15 ms per call: ours {median(walls):.2f}s ({len(run_plan.units)} mapped tasks,"
        f" {WORKER_SLOTS} slots, 8 threads each; {serial / median(walls):.0f}x faster); one task at a time"
        f" {single:.2f}s; serial Starbase model {serial:.1f}s"
    )


def section_task_instances() -> None:
    print("\n3. Task instances (max_map_length stays at its default of 1,024)")
    index_data = build_index(5_000, 20)
    sqs_plan = plan(index_data, DeliveryMode.SQS)
    print(f"   SQS, 5,000 x 20: {sqs_plan.total_targets} targets -> {len(sqs_plan.units)} mapped deliver tasks")
    account_template = {k: v for k, v in TEMPLATE.items() if k != "IncludeRegions"}
    for accounts in (1_000, 5_000):
        inline = plan(build_index(accounts, 20), DeliveryMode.INLINE, AccountShip, account_template)
        rows = "one row per account" if len(inline.units) == inline.total_targets else "chunks of accounts"
        print(f"   inline, {accounts} accounts: {len(inline.units)} mapped deliver tasks ({rows})")
    inline = plan(build_index(1_000, 20), DeliveryMode.INLINE)
    print(f"   inline ACCOUNT_REGION, 1,000 x 20: {len(inline.units)} tasks, e.g. '{inline.units[0].label}'")


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


def section_parse(repeat: int) -> None:
    print("\n4. Parse time of dags/starfleet_dags.py with 50 ships (fresh interpreter, network disabled)")
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

    print(
        f"   {runs[0]['dag_count']} DAGs, no import error: the DAG file takes {med('dags_file'):.3f}s beyond"
        f" Airflow's own import ({med('airflow'):.2f}s); target <= 0.3 s"
    )
    print(
        f"   of which: importing starfleet_airflow {med('import'):.3f}s, configuration {med('configuration'):.3f}s,"
        f" ship discovery and validation {med('ships'):.3f}s, building the 50 DAGs {med('dags'):.3f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (medians are printed)")
    parser.add_argument("--skip-parse", action="store_true", help="skip the 50-ship parse timing")
    args = parser.parse_args()
    print(f"starfleet-airflow fan-out benchmark (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    section_sizes(args.repeat)
    section_reference(args.repeat)
    section_task_instances()
    if not args.skip_parse:
        section_parse(args.repeat)


if __name__ == "__main__":
    main()
