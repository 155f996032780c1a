"""What an operator sees in the stack's UI, in a real browser: why a run failed, task logs, the trigger form.

Against the stack's api-server (Celery workers, task logs in the stand-in's S3), logged in as its admin:

- a refused trigger's reason is the run's note at the top of the run's page and the failed plan task's
  first log line, without a traceback; the report says in one line that there was nothing to report;
- a run's task logs (plan, a mapped deliver task) read in the UI, with the run's verdict as its note;
- the trigger form marks only ``commit`` required (empty lists mean "no narrowing"), and ``regions`` is a
  multi-select of region names.

Screenshots go to ``.starfleet/screenshots/operator-*.png``.
"""

from __future__ import annotations

import re
from typing import Any

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from tests.e2e.conftest import SCREENSHOTS, active_account_ids

AWS_CONFIG = "starfleet_aws_config_worker_ship"  # manual-only on the stack: a trigger starts nothing else
SHIP = "AwsConfigWorkerShip"
NOT_AN_ACCOUNT = "prod-web-1"  # the README's old example: no account of that name in the organisation
AWS_CONNECTION_LINE = "AWS Connection (conn_id="  # the Amazon provider's INFO line when a hook gets credentials
NOTHING = "nothing to report: the plan task failed, so nothing was delivered"


def _shown(page: Any, url: str, text: str, shot: str) -> str:
    """Open ``url``, wait until ``text`` is visible, screenshot it; the page's text."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text(text).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / shot, full_page=True)
    return str(page.inner_text("body"))


def _log_lines(page_text: str) -> list[str]:
    """The messages of the task log's lines (``[time] LEVEL - message``) as the log viewer shows them."""
    log = page_text[page_text.index("Pre Execute") :]
    return [line.split(" - ", 1)[1] for line in log.splitlines() if re.match(r"^\s*\d*\s*\[[^]]+\]\s+\w+ - ", line)]


def test_a_refused_trigger_says_why_on_the_run_page_and_first_in_the_plan_log(
    page: Any, stack: StackEnv, api: AirflowApi, unpaused, run_id: str
) -> None:
    unpaused(AWS_CONFIG)
    api.trigger(AWS_CONFIG, run_id, {"accounts": [NOT_AN_ACCOUNT]})
    run = api.wait_for_run(AWS_CONFIG, run_id, timeout=300)

    reason = f"refused: account '{NOT_AN_ACCOUNT}' is not in the account index; give 12-digit ids or account names"
    assert run["state"] == "failed"
    assert run["note"].startswith(reason), run["note"]  # the REST API's field, written by the run-note listener
    base = f"{stack['AIRFLOW_API_URL']}/dags/{AWS_CONFIG}/runs/{run_id}"

    run_page = _shown(page, base, reason, "operator-refused-run.png")
    assert run["note"] in run_page  # the whole reason, at the top of the run's page

    plan_page = _shown(page, f"{base}/tasks/plan", reason, "operator-refused-plan-log.png")
    lines = _log_lines(plan_page)
    # The failed task's first own line is the reason: before it only the Amazon provider's line about the
    # connection that read the index from S3; after it only Airflow's "Task exited".
    first = lines.index(run["note"])
    assert all(line.startswith(AWS_CONNECTION_LINE) for line in lines[:first]) and first <= 1, lines
    assert [line.split(" ", 2)[:2] for line in lines[first + 1 :]] == [["Task", "exited"]], lines
    assert "Traceback" not in plan_page and "AirflowFailException" not in plan_page

    report_page = _shown(page, f"{base}/tasks/report", NOTHING, "operator-refused-report-log.png")
    assert f"{NOTHING} ({run['note']})" in _log_lines(report_page)[:2]
    assert "did not finish" not in report_page and "Traceback" not in report_page


def test_a_runs_task_logs_read_in_the_ui(
    page: Any, stack: StackEnv, api: AirflowApi, index: dict[str, Any], unpaused, run_id: str
) -> None:
    account = active_account_ids(index)[0]
    unpaused(AWS_CONFIG)
    api.trigger(AWS_CONFIG, run_id, {"accounts": [account], "regions": ["us-east-1", "eu-west-1"]})
    run = api.wait_for_run(AWS_CONFIG, run_id, timeout=300)

    assert run["state"] == "success"
    assert run["note"].startswith(f"{SHIP}: OK"), run["note"]  # the report's verdict
    base = f"{stack['AIRFLOW_API_URL']}/dags/{AWS_CONFIG}/runs/{run_id}"
    _shown(page, base, run["note"], "operator-run-note.png")

    plan_page = _shown(page, f"{base}/tasks/plan", "2 targets in 1 work unit", "operator-plan-log.png")
    assert f"{SHIP}: 2 targets in 1 work unit from 1 template" in "\n".join(_log_lines(plan_page))
    assert "Could not read" not in plan_page and "Traceback" not in plan_page

    delivers = [ti for ti in api.task_instances(AWS_CONFIG, run_id) if ti["task_id"] == "deliver"]
    assert len(delivers) == 1 and delivers[0]["state"] == "success"
    label = delivers[0]["rendered_map_index"]
    deliver_page = _shown(page, f"{base}/tasks/deliver/mapped/0", "2 delivered", "operator-deliver-log.png")
    assert f"{label}: 2 delivered, 0 failed" in "\n".join(_log_lines(deliver_page))
    assert "Could not read" not in deliver_page
    assert delivers[0]["hostname"] in stack["STARFLEET_STACK_WORKERS"].split(",")  # logged on a worker, read from S3


def test_the_trigger_form_marks_only_commit_required_and_offers_region_names(page: Any, stack: StackEnv) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack['AIRFLOW_API_URL']}/dags/{AWS_CONFIG}")
    page.get_by_role("button", name=re.compile("^trigger", re.I)).first.click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("Regions").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "operator-trigger-form.png", full_page=True)
    required = form.locator("label.chakra-field__label[data-required]")  # the red asterisk's label
    assert [text.strip(" *\n") for text in required.all_inner_texts()] == ["Commit"]

    regions = form.locator("#element_regions")
    expect(regions).to_contain_text("Select one or multiple values")  # a multi-select, not free text
    regions.click()
    expect(page.get_by_text("eu-west-1", exact=True).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "operator-trigger-regions.png", full_page=True)
