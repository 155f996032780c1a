"""Inline delivery: the ship runs for every target, concurrently, one failure never stopping the others."""

from __future__ import annotations

import threading
from typing import Any

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.delivery.inline import DETAIL_LIMIT, compact_detail, run_targets
from tests.airflow_fixtures import FACTORY_SHIPS, Deployment

TEMPLATE = {
    "TemplateName": "Regions",
    "TemplateDescription": "d",
    "IncludeAccounts": {"AllAccounts": True},
    "IncludeRegions": ["ALL"],
    "FailFor": ["100000000002/eu-west-1"],
}


def test_targets_run_concurrently_with_one_session_per_thread(deployment: Deployment) -> None:
    deployment.ships["RegionRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "R/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    registry = load_ships(load_configuration(deployment.write()), FACTORY_SHIPS)
    ship = registry.ships["RegionRecorderShip"]
    targets = [(f"10000000000{i}", region) for i in range(1, 6) for region in ("eu-west-1", "us-east-1")]
    sessions: list[tuple[int, object]] = []
    lock = threading.Lock()
    # Each worker thread makes its session on its first target; the barrier lets them through only once
    # three threads are there at the same time, so the test proves concurrency without relying on timing.
    all_three = threading.Barrier(3, timeout=30)

    def session_factory() -> Any:
        session = object()
        with lock:
            sessions.append((threading.get_ident(), session))
        all_three.wait()
        return session

    outcomes = run_targets(
        ship,
        TEMPLATE,
        "R/regions.yaml",
        targets,
        commit=True,
        run_context=RunContext(dag_run_id="run-1"),
        session_factory=session_factory,
        concurrency=3,
        target_timeout=60,
    )

    assert [(o.account_id, o.region) for o in outcomes] == targets, "outcomes come back in target order"
    failed = [o for o in outcomes if not o.ok]
    assert [(o.account_id, o.region, o.status) for o in failed] == [("100000000002", "eu-west-1", "failed")]
    assert failed[0].error == "RuntimeError: asked to fail in 100000000002/eu-west-1"
    assert all(o.detail["commit"] is True and o.detail["dag_run_id"] == "run-1" for o in outcomes if o.ok)
    assert all(o.template == "R/regions.yaml" for o in outcomes)
    threads = [thread for thread, _ in sessions]
    assert len(sessions) == 3 and len(set(threads)) == 3, "three threads at once, one session each, made once"


def test_details_are_json_and_bounded() -> None:
    assert compact_detail({"a": (1, 2)}) == {"a": [1, 2]}
    assert compact_detail({"when": object}) == {"when": str(object)}
    long = compact_detail({"text": "x" * (DETAIL_LIMIT * 2)})
    assert isinstance(long, str) and len(long) < DETAIL_LIMIT + 100 and "more characters" in long
    assert compact_detail(None) is None
