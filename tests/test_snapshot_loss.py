"""A run snapshot lost between plan and deliver: the report still accounts for every target, and says why.

Snapshots are also pruned (``STARFLEET.SnapshotMaxAgeDays`` / ``SnapshotKeepLatest``), so a run cleared
and re-run long after its plan meets exactly this case.
"""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.core.report import build_report
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_dag
from tests.test_factory_report import UNITS, sqs_result, summary

LOST = "the run snapshot s3://b/snapshots/Ship/abc.json.gz cannot be read (NoSuchKey)"


def test_without_the_snapshot_every_unit_is_accounted_for_as_unknown() -> None:
    built = build_report(
        summary(),
        UNITS,
        [sqs_result(UNITS[0], {"Throttled: slow down": [1]})],
        tolerance={"count": 0},
        targets_of=None,
        name_of=lambda account: account,
        snapshot_problem=LOST,
    )
    assert not built.ok
    assert built.undelivered == 5 and built.failed == 1 and built.succeeded == 3, "all 9 targets are counted"
    rows = [(r["template"], r["outcome"], r["error"]) for r in built.rows]
    assert rows == [
        ("a.yaml", "failed", "target 1 of unit 0 (A first half): Throttled: slow down"),
        ("a.yaml", "unknown", f"4 targets (A second half): the deliver task for this unit failed; {LOST}"),
        ("b.yaml", "unknown", f"1 target (B): the deliver task for this unit failed; {LOST}"),
    ]
    assert LOST in built.notes[0] and "targets are counted per work unit" in built.notes[0]


@pytest.mark.usefixtures("airflow_db")
def test_a_snapshot_deleted_during_the_run_still_leaves_a_full_report(deployment: Deployment) -> None:
    deployment.write_index(sample_organisation())
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", "Retries": 0},
    }
    snapshots = deployment.root / "snapshots"
    template: dict[str, Any] = {
        "TemplateName": "Web",
        "TemplateDescription": "web accounts; the first one deletes the run's snapshots",
        "IncludeAccounts": {"ByOrgUnits": ["Web"]},
        "DeleteSnapshots": str(snapshots),
    }
    deployment.add_template("AccountRecorderShip/web.yaml", template)
    deployment.write()

    result = run_dag("starfleet_account_recorder_ship")

    report = result.report
    assert result.state == "failed" and result.state_of("report") == "failed"
    assert report["targets"] == report["succeeded"] + report["failed"] + report["undelivered"]
    assert report["succeeded"] >= 1 and report["undelivered"] >= 1
    assert any("cannot read the run snapshot" in note for note in report["notes"])
    assert {row["outcome"] for row in report["rows"]} == {"succeeded", "unknown"}
