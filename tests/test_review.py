"""Reviewed runs without Airflow: what ships say they would change, the dry run read per template, the
approver's text, the apply of exactly the reviewed targets (re-checked), the decision and the report.

The ships here are small real ships over an in-memory "account setting" (``WORLD``), run through the
project's real runner and inline delivery: what they report is what they would do.
"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import fields

from starfleet_airflow import (
    BaseAccountPayloadTemplate,
    ChangeSummary,
    FanOutStrategy,
    StarfleetWorkerShip,
    WorkerShipBaseConfigurationTemplate,
)
from starfleet_airflow.core.changes import DIFF_LIMIT, make_change_summary, would_change
from starfleet_airflow.core.outcomes import FAILED, SUCCEEDED, UnitResult
from starfleet_airflow.core.plan import SnapshotView
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.review import ApplyUnit, Decision, build_reviewed_report, review_dry_run
from starfleet_airflow.core.review.body import LISTED_TARGETS, approval_body, approval_subject
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.snapshot import RunSnapshot
from starfleet_airflow.delivery.inline import run_targets
from starfleet_airflow.delivery.reviewed import ALREADY_APPLIED, apply_reviewed_unit
from starfleet_airflow.delivery.unit import record_outcomes
from starfleet_airflow.devtools.synthetic_org import PRODUCTION, account_entry

ACCOUNTS = [f"30000000000{i}" for i in range(6)]
NAMES = {account: f"acct-{account[-1]}" for account in ACCOUNTS}
WORLD: dict[str, str] = {}
COMMITS: list[str] = []
TEMPLATE = {"TemplateName": "Setting", "TemplateDescription": "d", "IncludeAccounts": {"AllAccounts": True}}


class SettingPayload(BaseAccountPayloadTemplate):
    value = fields.String(required=True, data_key="Value")


class SettingShip(StarfleetWorkerShip):
    """Keeps one setting per account; says what it would change."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = SettingPayload
    configuration_template_class = WorkerShipBaseConfigurationTemplate

    def execute(self, commit: bool = False) -> Any:
        account, desired = self.payload["starbase_assigned_account"], self.payload["value"]
        current = WORLD.get(account)
        if current == "broken":
            self.report_changes(True, summary="half-way", diff="")
            raise RuntimeError(f"{account} is broken")
        self.report_changes(
            current != desired, summary=f"value {current!r} -> {desired!r}", diff=f"-{current}\n+{desired}"
        )
        if commit and current != desired:
            WORLD[account] = desired
            COMMITS.append(account)
        return {"account": account}


class SilentShip(SettingShip):
    """The same job, written as Starfleet ships are: it never says what it would change."""

    def execute(self, commit: bool = False) -> Any:
        account, desired = self.payload["starbase_assigned_account"], self.payload["value"]
        if commit:
            WORLD[account] = desired
            COMMITS.append(account)
        return None


def loaded(ship_class: type[StarfleetWorkerShip]) -> LoadedShip:
    section = {"Enabled": True, "TemplatePrefix": "s/", "Airflow": {"DeliveryMode": "INLINE", "Review": True}}
    configuration = WorkerShipBaseConfigurationTemplate().load(section)
    return LoadedShip(ship_class, configuration, section, None, {"deployment_region": "us-east-1"})


def view(ship_class: type[StarfleetWorkerShip], value: str = "on") -> SnapshotView:
    index = {
        "accounts": {a: account_entry(a, NAMES[a], [PRODUCTION], ["us-east-1"], {}) for a in ACCOUNTS},
        "generated": "2026-11-01T00:00:00Z",
    }
    snapshot = RunSnapshot(ship_class.get_worker_ship_name(), index, {"s/t.yaml": {**TEMPLATE, "Value": value}})
    return SnapshotView(snapshot, ship_class, source="memory")


@pytest.fixture(autouse=True)
def world() -> None:
    WORLD.clear()
    COMMITS.clear()
    WORLD.update({a: "on" for a in ACCOUNTS})
    WORLD.update({ACCOUNTS[1]: "off", ACCOUNTS[3]: "off"})


def dry_run(ship_class: type[StarfleetWorkerShip], units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dry run as the dry_run tasks do it: each unit's targets through the inline delivery."""
    snapshot_view = view(ship_class)
    results = []
    for unit in units:
        targets = snapshot_view.targets(unit["template"])[unit["start"] : unit["stop"]]
        outcomes = run_targets(
            loaded(ship_class),
            snapshot_view.snapshot.templates[unit["template"]],
            unit["template"],
            targets,
            commit=False,
            run_context=RunContext(),
            session_factory=None,
            concurrency=2,
            target_timeout=60,
        )
        result = UnitResult(unit["unit"], unit["template"], unit["start"], unit["stop"], unit["label"], "INLINE")
        results.append(record_outcomes(result, outcomes).to_dict())
    return results


UNITS = [
    {"unit": 0, "template": "s/t.yaml", "start": 0, "stop": 3, "label": "Setting: first three"},
    {"unit": 1, "template": "s/t.yaml", "start": 3, "stop": 6, "label": "Setting: last three"},
]
SUMMARY = {"ship": "SettingShip", "total_targets": 6, "snapshot": "memory", "templates": [], "invalid": []}


# -- what a ship says --


def test_the_runner_keeps_what_the_ship_said_also_when_it_fails() -> None:
    WORLD[ACCOUNTS[0]] = "broken"
    ship = loaded(SettingShip)
    said = run_ship_for_target(ship, {**TEMPLATE, "Value": "on"}, ACCOUNTS[1], None, False)
    assert said.ok and said.changes["changed"] is True and said.changes["summary"] == "value 'off' -> 'on'"
    assert said.changes["fingerprint"] == make_change_summary(True, "value 'off' -> 'on'", "-off\n+on").fingerprint
    failed = run_ship_for_target(ship, {**TEMPLATE, "Value": "on"}, ACCOUNTS[0], None, False)
    assert failed.status == FAILED and failed.changes["summary"] == "half-way"
    assert (
        run_ship_for_target(loaded(SilentShip), {**TEMPLATE, "Value": "on"}, ACCOUNTS[1], None, False).changes is None
    )


def test_change_summaries_are_checked_and_bounded() -> None:
    with pytest.raises(TypeError, match="changed must be True or False, got list"):
        make_change_summary([])
    with pytest.raises(TypeError, match="diff must be text"):
        make_change_summary(True, diff=["a"])
    long = ChangeSummary(True, "s", "x" * (DIFF_LIMIT * 2))
    assert len(long.to_dict()["diff"]) < DIFF_LIMIT + 60 and "more characters" in long.to_dict()["diff"]
    assert long.fingerprint != ChangeSummary(True, "s", "x" * DIFF_LIMIT * 3).fingerprint  # from the full diff
    assert would_change(None) and would_change({"changed": True}) and not would_change({"changed": False})


# -- the dry run, read --


def test_the_review_finds_exactly_the_targets_that_would_change() -> None:
    WORLD[ACCOUNTS[5]] = "broken"
    review = review_dry_run(UNITS, dry_run(SettingShip, UNITS))
    template = review.templates["s/t.yaml"]
    assert [t.account_id for t in template.would_change] == [ACCOUNTS[1], ACCOUNTS[3]]
    assert [t.account_id for t in template.unchanged] == [ACCOUNTS[0], ACCOUNTS[2], ACCOUNTS[4]]
    assert [(t.account_id, t.error) for t in template.failed] == [
        (ACCOUNTS[5], f"RuntimeError: {ACCOUNTS[5]} is broken")
    ]
    assert [(u.dry_run_unit, u.positions, u.label) for u in review.apply_units] == [
        (0, (1,), "Setting: first three: 1 of 3 targets"),
        (1, (3,), "Setting: last three: 1 of 3 targets"),
    ]
    assert all(len(u.fingerprints) == 1 and u.fingerprints[0] for u in review.apply_units)
    assert ApplyUnit.from_dict(review.apply_units[0].to_dict()) == review.apply_units[0]
    assert review.to_dict()["would_change"] == 2 and review.to_dict()["failed"] == 1


def test_a_ship_that_says_nothing_would_change_every_target_and_a_crashed_unit_is_never_applied() -> None:
    results = dry_run(SilentShip, UNITS[:1])  # the second unit's task "crashed": no result
    review = review_dry_run(UNITS, results)
    assert review.would_change == 3 and review.templates["s/t.yaml"].unknown == 3
    assert review.crashed_units == ["Setting: last three"]
    assert [(u.positions, u.fingerprints, u.label) for u in review.apply_units] == [
        ((0, 1, 2), (None, None, None), "Setting: first three")
    ]


def test_the_approver_reads_counts_names_and_diffs() -> None:
    review = review_dry_run(UNITS, dry_run(SettingShip, UNITS))
    assert approval_subject("SettingShip", review) == "SettingShip: apply the changes to 2 of 6 targets?"
    body = approval_body(
        "SettingShip",
        review,
        run_id="manual__1",
        snapshot="s3://b/snap.json.gz",
        timeout="within 24 hours",
        name_of=NAMES.get,
        template_names={"s/t.yaml": "Setting"},
    )
    assert "| Setting (`s/t.yaml`) | 6 | 2 | 4 | 0 |" in body
    assert f"**acct-1 ({ACCOUNTS[1]})**: value 'off' -> 'on'" in body and "```diff\n-off\n+on\n```" in body
    assert ACCOUNTS[0] not in body and "no answer within 24 hours, changes nothing" in body


def test_a_long_review_lists_the_first_targets_and_counts_the_rest() -> None:
    WORLD.update({a: "off" for a in ACCOUNTS})
    many = [dict(UNITS[0], unit=i, label=f"u{i}") for i in range(LISTED_TARGETS)]  # 3 changing targets each
    review = review_dry_run(many, [dict(r, unit=i) for i, r in enumerate(dry_run(SettingShip, [UNITS[0]]) * len(many))])
    body = approval_body("S", review, run_id="r", snapshot="s", timeout="t", name_of=NAMES.get)
    assert body.count("```diff") == LISTED_TARGETS
    assert f"... and {3 * LISTED_TARGETS - LISTED_TARGETS} more" in body


# -- the apply --


def test_apply_commits_exactly_the_reviewed_targets_that_still_need_the_reviewed_change() -> None:
    review = review_dry_run(UNITS, dry_run(SettingShip, UNITS))
    WORLD[ACCOUNTS[3]] = "on"  # fixed by someone else since the dry run
    WORLD[ACCOUNTS[0]] = "off"  # drifted since the dry run: never reviewed, never applied
    results = [
        apply_reviewed_unit(
            loaded(SettingShip), unit, view(SettingShip), run_context=RunContext(), session_factory=None
        )
        for unit in review.apply_units
    ]
    assert COMMITS == [ACCOUNTS[1]]  # noqa: SIM300 - COMMITS is the observed value
    assert WORLD[ACCOUNTS[0]] == "off"
    assert [(o["account_id"], o["status"]) for r in results for o in r.outcomes] == [
        (ACCOUNTS[1], SUCCEEDED),
        (ACCOUNTS[3], SUCCEEDED),
    ]
    assert results[1].outcomes[0]["detail"] == ALREADY_APPLIED


def test_apply_refuses_a_target_whose_change_is_no_longer_the_reviewed_one() -> None:
    review = review_dry_run(UNITS, dry_run(SettingShip, UNITS))
    WORLD[ACCOUNTS[1]] = "something else"
    result = apply_reviewed_unit(
        loaded(SettingShip), review.apply_units[0], view(SettingShip), run_context=RunContext(), session_factory=None
    )
    assert COMMITS == [] and WORLD[ACCOUNTS[1]] == "something else"
    assert result.outcomes[0]["status"] == FAILED
    assert result.outcomes[0]["error"] == (
        "changed since the review: it now needs \"value 'something else' -> 'on'\", not the reviewed change;"
        " nothing applied"
    )


def test_a_ship_that_says_nothing_is_committed_for_every_reviewed_target_without_a_check() -> None:
    review = review_dry_run(UNITS, dry_run(SilentShip, UNITS))
    for unit in review.apply_units:
        apply_reviewed_unit(loaded(SilentShip), unit, view(SilentShip), run_context=RunContext(), session_factory=None)
    assert COMMITS == ACCOUNTS


# -- the decision and the report --


def test_only_an_explicit_approval_approves_and_a_timeout_names_nobody() -> None:
    alice = {"id": "alice", "name": "alice"}
    approved = Decision.from_response(["Approve"], {"comment": " ok "}, "2026-01-01T00:00:00+00:00", alice)
    assert (approved.outcome, approved.by, approved.comment) == ("approved", alice, "ok")
    assert approved.sentence() == 'approved by alice at 2026-01-01T00:00:00+00:00 ("ok")'
    rejected = Decision.from_response(["Reject"], {"comment": ""}, None, alice)
    assert (rejected.outcome, rejected.comment, rejected.approved) == ("rejected", None, False)
    timed_out = Decision.from_response(["Reject"], {}, "t", None, timed_out=True)
    assert (timed_out.outcome, timed_out.by, timed_out.who) == ("timed out", None, "nobody (the review timed out)")
    assert Decision.from_dict(approved.to_dict()) == approved


def reviewed_report(decision: Decision | None, *, commit: bool = True, crash_apply: bool = False, **kwargs: Any) -> Any:
    dry = dry_run(SettingShip, UNITS)
    review = review_dry_run(UNITS, dry)
    applied = []
    if decision is not None and decision.approved:
        for unit in review.apply_units[: 1 if crash_apply else None]:
            applied.append(
                apply_reviewed_unit(
                    loaded(SettingShip), unit, view(SettingShip), run_context=RunContext(), session_factory=None
                ).to_dict()
            )
    return build_reviewed_report(
        SUMMARY,
        UNITS,
        dry,
        commit=commit,
        apply_units=[u.to_dict() for u in review.apply_units],
        apply_results=applied,
        decision=decision,
        tolerance=kwargs.pop("tolerance", {"count": 0}),
        name_of=NAMES.get,
    )


APPROVED = Decision("approved", "2026-01-01T10:00:00+00:00", {"id": "alice", "name": "alice"}, "LGTM")


def test_an_approved_run_reports_the_approver_and_exactly_what_was_applied() -> None:
    report = reviewed_report(APPROVED)
    assert report.ok
    data = report.to_dict()
    assert data["review"] == {
        "outcome": "approved",
        "by": {"id": "alice", "name": "alice"},
        "at": "2026-01-01T10:00:00+00:00",
        "comment": "LGTM",
        "snapshot": "memory",
        "would_change": 2,
        "applied": [
            {"template": "s/t.yaml", "account_id": ACCOUNTS[1], "account_name": "acct-1", "region": None},
            {"template": "s/t.yaml", "account_id": ACCOUNTS[3], "account_name": "acct-3", "region": None},
        ],
    }
    assert [row["outcome"] for row in data["rows"]] == ["unchanged", "applied", "unchanged", "applied"] + [
        "unchanged"
    ] * 2
    assert data["verdict"] == (
        'SettingShip: OK, applied after review, approved by alice at 2026-01-01T10:00:00+00:00 ("LGTM"); 2 of 6 targets'
        " would change: 2 applied, 0 not applied; 4 unchanged, 0 failed"
    )
    table = report.table()
    assert "review: approved by alice" in table and "applied to: acct-1/300000000001, acct-3/300000000003" in table


def test_rejected_timed_out_and_unfinished_reviews_fail_without_applying() -> None:
    rejected = reviewed_report(Decision("rejected", "t", {"id": "bob", "name": "bob"}, "no"))
    assert not rejected.ok and COMMITS == []
    assert rejected.verdict().startswith('SettingShip: REJECTED, nothing was changed: rejected by bob at t ("no")')
    assert [row["error"] for row in rejected.rows if row["outcome"] == "not applied"] == [
        'rejected by bob at t ("no")'
    ] * 2
    timed_out = reviewed_report(Decision("timed out", "t"))
    assert not timed_out.ok and timed_out.verdict().startswith("SettingShip: REVIEW TIMED OUT, nothing was changed")
    unfinished = reviewed_report(None)
    assert not unfinished.ok and unfinished.outcome == "no decision"
    assert unfinished.verdict().startswith("SettingShip: FAILED, the approval did not finish")


def test_a_dry_run_and_a_run_with_nothing_to_change_need_no_decision() -> None:
    dry = reviewed_report(None, commit=False)
    assert dry.ok and dry.outcome == "dry run only" and dry.count("not applied") == 2
    WORLD.update({a: "on" for a in ACCOUNTS})
    nothing = reviewed_report(None)
    assert nothing.ok and nothing.outcome == "nothing to change" and nothing.count("unchanged") == 6


def test_a_crashed_apply_task_fails_the_run_and_its_targets_are_unknown() -> None:
    report = reviewed_report(APPROVED, crash_apply=True, tolerance={"percent": 50})
    assert not report.ok and report.crashed_units == ["apply: Setting: last three: 1 of 3 targets"]
    assert {row["account_id"]: row["outcome"] for row in report.rows}[ACCOUNTS[3]] == "unknown"
    assert report.verdict().startswith("SettingShip: FAILED, task failed (apply: Setting: last three")
