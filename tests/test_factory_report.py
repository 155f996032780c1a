"""The report: every failure listed, successes summarised when huge, the tolerance verdict."""

from __future__ import annotations

from typing import Any

import pytest

from starfleet_airflow.core.outcomes import UnitResult
from starfleet_airflow.core.report import build_report
from starfleet_airflow.core.resolve import Target

TARGETS = {
    "a.yaml": [Target(f"10000000000{i}", r) for i in range(4) for r in ("eu-west-1", "us-east-1")],
    "b.yaml": [Target("100000000009", "us-east-1")],
}
NAMES = {f"10000000000{i}": f"acct-{i}" for i in range(10)}


def summary(invalid: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "ship": "Ship",
        "total_targets": sum(len(t) for t in TARGETS.values()),
        "templates": [{"key": k, "targets": len(v)} for k, v in TARGETS.items()],
        "invalid": invalid or [],
        "notes": [],
    }


UNITS = [
    {"unit": 0, "template": "a.yaml", "start": 0, "stop": 4, "label": "A first half"},
    {"unit": 1, "template": "a.yaml", "start": 4, "stop": 8, "label": "A second half"},
    {"unit": 2, "template": "b.yaml", "start": 0, "stop": 1, "label": "B"},
]


def sqs_result(unit: dict[str, Any], failures: dict[str, list[int]] | None = None) -> dict[str, Any]:
    failures = failures or {}
    failed = sum(len(p) for p in failures.values())
    size = unit["stop"] - unit["start"]
    return UnitResult(
        unit["unit"], unit["template"], unit["start"], unit["stop"], unit["label"], "SQS", size - failed, failures
    ).to_dict()


def report(results: list[dict[str, Any]], tolerance: dict[str, Any], **kwargs: Any) -> Any:
    return build_report(
        kwargs.pop("summary", summary()),
        UNITS,
        results,
        tolerance=tolerance,
        targets_of=lambda key: TARGETS[key],
        name_of=lambda account: NAMES.get(account, account),
        **kwargs,
    )


def test_every_target_has_a_row_with_its_name_and_outcome() -> None:
    results = [sqs_result(UNITS[0]), sqs_result(UNITS[1], {"KMS.AccessDenied: no": [2]}), sqs_result(UNITS[2])]
    built = report(results, {"count": 0})
    assert len(built.rows) == 9
    failed = [row for row in built.rows if row["outcome"] == "failed"]
    assert failed == [
        {
            "template": "a.yaml",
            "account_id": "100000000003",
            "account_name": "acct-3",
            "region": "eu-west-1",
            "outcome": "failed",
            "error": "KMS.AccessDenied: no",
        }
    ]
    assert not built.ok and built.failures == 1
    assert "1 failure exceeds the tolerance (0)" in built.verdict()
    table = built.table()
    assert "TEMPLATE" in table and "ACCOUNT_NAME" in table and "acct-3" in table and "KMS.AccessDenied" in table


@pytest.mark.parametrize(
    ("tolerance", "ok"),
    [({"count": 1}, True), ({"count": 0}, False), ({"percent": 12.0}, True), ({"percent": 11.0}, False)],
)
def test_tolerance_as_count_or_percentage(tolerance: dict[str, Any], ok: bool) -> None:
    results = [sqs_result(UNITS[0], {"boom": [0]}), sqs_result(UNITS[1]), sqs_result(UNITS[2])]
    assert report(results, tolerance).ok is ok  # 1 failure in 9 targets is 11.1%


def test_invalid_templates_count_as_failures() -> None:
    invalid = [{"key": "c.yaml", "errors": ["IncludeAccounts: Missing data for required field."]}]
    results = [sqs_result(u) for u in UNITS]
    built = report(results, {"count": 0}, summary=summary(invalid))
    assert built.invalid_templates == 1 and not built.ok
    assert built.rows[0]["outcome"] == "invalid template" and "IncludeAccounts" in built.rows[0]["error"]
    assert report(results, {"count": 1}, summary=summary(invalid)).ok


def test_a_crashed_deliver_task_fails_the_run_whatever_the_tolerance() -> None:
    built = report([sqs_result(UNITS[0]), sqs_result(UNITS[2])], {"percent": 100.0})
    assert not built.ok and built.crashed_units == ["A second half"]
    assert built.undelivered == 4
    unknown = [row for row in built.rows if row["outcome"] == "unknown"]
    assert [(row["account_id"], row["region"]) for row in unknown] == [tuple(t) for t in TARGETS["a.yaml"][4:]]


def test_huge_runs_summarise_successes_but_list_every_failure() -> None:
    results = [sqs_result(UNITS[0], {"boom": [1, 3]}), sqs_result(UNITS[1]), sqs_result(UNITS[2])]
    built = report(results, {"count": 5}, row_limit=5)
    assert not built.successes_listed
    assert [row["outcome"] for row in built.rows] == ["failed", "failed"]
    assert built.templates["a.yaml"] == {"targets": 8, "failed": 2, "sent": 6}
    assert built.ok and "successes are summarised" in built.table()


def test_inline_outcomes_are_reported_as_the_ship_returned_them() -> None:
    outcomes = [
        {"account_id": t.account_id, "region": t.region, "status": "succeeded", "error": None, "detail": {"n": i}}
        for i, t in enumerate(TARGETS["b.yaml"])
    ]
    inline = UnitResult(2, "b.yaml", 0, 1, "B", "INLINE", 1, {}, outcomes).to_dict()
    built = build_report(
        {**summary(), "total_targets": 1, "templates": [{"key": "b.yaml", "targets": 1}]},
        [UNITS[2]],
        [inline],
        tolerance={"count": 0},
        targets_of=lambda key: TARGETS[key],
        name_of=lambda account: NAMES[account],
    )
    assert built.ok and built.rows == [
        {
            "template": "b.yaml",
            "account_id": "100000000009",
            "account_name": "acct-9",
            "region": "us-east-1",
            "outcome": "succeeded",
            "error": None,
            "detail": {"n": 0},
        }
    ]
