"""Reviewed runs on the stack: dry run -> approval -> apply, with the approver in a real browser.

The stack's S3PublicAccessBlockWorkerShip is reviewed (stack/config/s3_public_access_block.yaml) and runs inline
in the Celery workers. Each test narrows its run to ten accounts, puts S3 Block Public Access in those accounts
as the template wants it in the stand-in, and makes three of them drift (no settings at all, one setting off, two
settings off). The run must find exactly those three in its dry run, wait for a human, and then:

* approved in the Airflow UI (Debian's chromium through playwright, logged in as the stack's user, comment typed
  into the required-action form): apply exactly those three, from the run's snapshot, and report who approved,
  when and with what comment;
* rejected through the REST API (the human-in-the-loop endpoint): change nothing and fail the run.

The stand-in's S3 Control is read back with the tests' own clients, never through the ship. Screenshots go to
``.starfleet/screenshots/``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import pytest

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from tests.e2e.conftest import SCREENSHOTS, expected_targets

DAG_ID = "starfleet_s3_public_access_block_worker_ship"
SHIP = "S3PublicAccessBlockWorkerShip"
TEMPLATE = "S3PublicAccessBlockWorkerShip/block_public_access.yaml"
WORKER_ROLE = "starfleet-worker-role"  # stack/config/s3_public_access_block.yaml
SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
WANTED = dict.fromkeys(SETTINGS, True)  # the template: all four on
UNSET = dict.fromkeys(SETTINGS, False)  # how the ship reads an account that never set them
WAIT_S = 400


def _s3control(stack: StackEnv, account: str) -> Any:
    """S3 Control acting in ``account`` of the stand-in (moto routes by the assumed role's credentials)."""
    import boto3
    from botocore.config import Config

    endpoint = stack["AWS_ENDPOINT_URL"]
    credentials = stack.aws_client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{WORKER_ROLE}", RoleSessionName="e2e-review"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=stack["AWS_DEFAULT_REGION"],
    )
    # The account-prefixed host names of S3 Control reach the stand-in through it as a proxy (as the stack's ships).
    return session.client("s3control", endpoint_url=endpoint, config=Config(proxies={"http": endpoint}))


def _settings(stack: StackEnv, account: str) -> dict[str, bool]:
    client = _s3control(stack, account)
    try:
        found = client.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    except client.exceptions.NoSuchPublicAccessBlockConfiguration:
        return dict(UNSET)
    return {name: bool(found.get(name, False)) for name in SETTINGS}


def _put(stack: StackEnv, account: str, settings: dict[str, bool] | None) -> None:
    client = _s3control(stack, account)
    if settings is None:
        client.delete_public_access_block(AccountId=account)
    else:
        client.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration=settings)


@pytest.fixture
def drifted(stack: StackEnv, index: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Ten of the template's accounts as the template wants them but three; returns (accounts, the drifted three)."""
    accounts = sorted(account for account, _ in expected_targets(index, SHIP, TEMPLATE))[:10]
    assert len(accounts) == 10, "the seeded organisation has at least ten accounts the template selects"
    for account in accounts:
        _put(stack, account, WANTED)
    drifted = [accounts[1], accounts[4], accounts[8]]
    _put(stack, drifted[0], None)  # never set: all four off
    _put(stack, drifted[1], {**WANTED, "BlockPublicPolicy": False})
    _put(stack, drifted[2], {**WANTED, "IgnorePublicAcls": False, "RestrictPublicBuckets": False})
    assert [_settings(stack, a) == WANTED for a in accounts].count(False) == 3
    return accounts, drifted


def _task(api: AirflowApi, run_id: str, task_id: str) -> list[dict[str, Any]]:
    return [ti for ti in api.task_instances(DAG_ID, run_id) if ti["task_id"] == task_id]


def _results(api: AirflowApi, run_id: str, task_id: str) -> list[dict[str, Any]]:
    """The returned ``UnitResult`` of every mapped instance of ``task_id``."""
    return [api.xcom(DAG_ID, run_id, task_id, map_index=ti["map_index"]) for ti in _task(api, run_id, task_id)]


def _wait_for_the_approval(api: AirflowApi, run_id: str) -> dict[str, Any]:
    """Poll until the approval task waits for a human; returns its human-in-the-loop detail."""
    deadline = time.monotonic() + WAIT_S
    while True:
        approve = _task(api, run_id, "approve")
        state = approve[0]["state"] if approve else None
        if state == "awaiting_input":
            return api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails")
        run = api.dag_run(DAG_ID, run_id)
        if run["state"] in ("success", "failed") or state in ("success", "failed", "skipped", "upstream_failed"):
            tasks = sorted((ti["task_id"], ti["state"]) for ti in api.task_instances(DAG_ID, run_id))
            raise AssertionError(f"{run_id}: the approval never waited (run {run['state']}, approve {state}): {tasks}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run_id}: approve still {state} after {WAIT_S} s")
        time.sleep(2)


def _report(api: AirflowApi, run_id: str, ok: bool) -> dict[str, Any]:
    """The reviewed report (pushed as ``report`` when the report task fails the run)."""
    return api.xcom(DAG_ID, run_id, "report", key="return_value" if ok else "report")


def _trigger_and_wait_for_review(
    api: AirflowApi, unpaused, run_id: str, accounts: list[str], drifted: list[str]
) -> dict[str, Any]:
    unpaused(DAG_ID)
    api.trigger(DAG_ID, run_id, {"commit": True, "accounts": accounts})
    detail = _wait_for_the_approval(api, run_id)
    # What the approver is asked: exactly the three drifted accounts, with what would change.
    assert detail["subject"] == f"{SHIP}: apply the changes to 3 of 10 targets?"
    assert detail["options"] == ["Approve", "Reject"] and detail["defaults"] == ["Reject"]
    for account in accounts:
        assert (account in detail["body"]) is (account in drifted), account
    assert "BlockPublicPolicy True -> False" not in detail["body"]  # the diff goes towards the template
    assert "BlockPublicPolicy False -> True" in detail["body"]
    dry_runs = _task(api, run_id, "dry_run")
    assert dry_runs and all(ti["state"] == "success" for ti in dry_runs)
    return detail


def _approve_in_the_browser(page: Any, stack: StackEnv, run_id: str, changed: list[str], comment: str) -> None:
    """Browse -> Required Actions, then the task's required-action page: read, comment, Approve."""
    from playwright.sync_api import expect

    # Browse -> Required Actions lists the pending approval.
    page.goto(f"{stack['AIRFLOW_API_URL']}/required_actions")
    expect(page.get_by_text(run_id).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "review-required-actions.png", full_page=True)

    # The task's required-action page: subject, the Markdown body, the comment field, Approve / Reject.
    page.goto(f"{stack['AIRFLOW_API_URL']}/dags/{DAG_ID}/runs/{run_id}/tasks/approve/required_actions")
    expect(page.get_by_text(f"{SHIP}: apply the changes to 3 of 10 targets?").first).to_be_visible()
    for account in changed:
        expect(page.get_by_text(re.compile(account)).first).to_be_visible()
    field = page.get_by_role("group").filter(has_text=re.compile(r"^\s*Comment")).get_by_role("textbox")
    field.fill(comment)
    page.screenshot(path=SCREENSHOTS / "review-approval-form.png", full_page=True)
    approve_button = page.get_by_test_id("hitl-option-Approve")
    expect(approve_button).to_be_enabled()
    approve_button.scroll_into_view_if_needed()  # the tab scrolls inside the page: show the comment and buttons
    page.screenshot(path=SCREENSHOTS / "review-approval-buttons.png", full_page=True)
    approve_button.click()
    expect(page.get_by_text(re.compile(r"Response received", re.I)).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "review-approved.png", full_page=True)


def test_a_review_approved_in_the_ui_applies_exactly_what_the_dry_run_found(
    stack: StackEnv, api: AirflowApi, unpaused, run_id: str, page: Any, drifted
) -> None:
    from playwright.sync_api import expect

    accounts, changed = drifted
    page.set_viewport_size({"width": 1600, "height": 1200})  # the approval form's body table and diffs in one shot
    _trigger_and_wait_for_review(api, unpaused, run_id, accounts, changed)
    comment = f"drift fixed back, ticket SEC-{run_id[-4:]}"

    try:
        _approve_in_the_browser(page, stack, run_id, changed, comment)
    except Exception:
        # What the browser showed when it failed, for whoever reads the CI artefacts.
        page.screenshot(path=SCREENSHOTS / "review-failure.png", full_page=True)
        (SCREENSHOTS / "review-failure.html").write_text(page.content(), encoding="utf-8")
        raise

    run = api.wait_for_run(DAG_ID, run_id, timeout=WAIT_S)

    assert run["state"] == "success", sorted((ti["task_id"], ti["state"]) for ti in api.task_instances(DAG_ID, run_id))
    # The apply touched exactly the drifted accounts; the others were already as the template wants.
    for account in accounts:
        assert _settings(stack, account) == WANTED, account
    # What the dry run said, and what the apply ran: each from the tasks' own results (XCom), target by target.
    said = {o["account_id"]: o["changes"]["changed"] for r in _results(api, run_id, "dry_run") for o in r["outcomes"]}
    assert said == {a: a in changed for a in accounts}
    applies = _task(api, run_id, "apply")
    assert [ti["state"] for ti in applies] == ["success"] * len(applies)
    ran = [o for r in _results(api, run_id, "apply") for o in r["outcomes"]]
    assert sorted(o["account_id"] for o in ran) == sorted(changed)
    assert all(o["status"] == "succeeded" and o["detail"]["committed"] is True for o in ran), ran

    report = _report(api, run_id, ok=True)
    review = report["review"]
    assert review["outcome"] == "approved"
    assert review["by"] == {"id": stack["AIRFLOW_USERNAME"], "name": stack["AIRFLOW_USERNAME"]}
    assert review["comment"] == comment
    assert datetime.fromisoformat(review["at"]) >= datetime.fromisoformat(run["start_date"])
    assert sorted(entry["account_id"] for entry in review["applied"]) == sorted(changed)
    outcomes = {row["account_id"]: row["outcome"] for row in report["rows"]}
    assert outcomes == {a: "applied" if a in changed else "unchanged" for a in accounts}
    assert report["ok"] is True

    # Airflow's own record: the response and the audit log name the approver.
    detail = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails")
    assert detail["responded_by_user"]["id"] == stack["AIRFLOW_USERNAME"]
    assert detail["chosen_options"] == ["Approve"] and detail["params_input"] == {"comment": comment}
    events = api.call(
        "GET", "/api/v2/eventLogs", params={"dag_id": DAG_ID, "run_id": run_id, "event": "update_hitl_detail"}
    )["event_logs"]
    assert [event["owner"] for event in events] == [stack["AIRFLOW_USERNAME"]]
    page.goto(f"{stack['AIRFLOW_API_URL']}/dags/{DAG_ID}/runs/{run_id}/tasks/approve/events")
    expect(page.get_by_text("update_hitl_detail").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "review-audit-log.png", full_page=True)


def test_a_review_rejected_through_the_rest_api_changes_nothing(
    stack: StackEnv, api: AirflowApi, unpaused, run_id: str, drifted
) -> None:
    accounts, changed = drifted
    before = {account: _settings(stack, account) for account in accounts}
    _trigger_and_wait_for_review(api, unpaused, run_id, accounts, changed)

    answer = api.call(
        "PATCH",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails",
        json={"chosen_options": ["Reject"], "params_input": {"comment": "not during the freeze"}},
    )
    assert answer["chosen_options"] == ["Reject"]
    run = api.wait_for_run(DAG_ID, run_id, timeout=WAIT_S)

    assert run["state"] == "failed"
    assert [ti["state"] for ti in _task(api, run_id, "apply")] == ["skipped"]
    assert [ti["state"] for ti in _task(api, run_id, "report")] == ["failed"]
    assert {account: _settings(stack, account) for account in accounts} == before
    report = _report(api, run_id, ok=False)
    review = report["review"]
    assert (review["outcome"], review["by"]["id"], review["comment"]) == (
        "rejected",
        stack["AIRFLOW_USERNAME"],
        "not during the freeze",
    )
    assert review["applied"] == []
    assert report["verdict"].startswith(f"{SHIP}: REJECTED, nothing was changed: rejected by ")
