"""The Airflow UI in a real browser: Debian's chromium driven by playwright (never ``playwright install``).

Logged in as the stack's admin: the DAG list shows every ship; a run's mapped deliver rows carry their
labels; the trigger form shows commit, templates, accounts and regions with their descriptions.
Screenshots go to ``.starfleet/screenshots/`` (CI keeps them). The browser (``page``) is conftest's.
"""

from __future__ import annotations

import re
from typing import Any

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from tests.e2e.conftest import SCREENSHOTS

AWS_CONFIG = "starfleet_aws_config_worker_ship"


def test_the_dag_list_shows_every_ship(page: Any, stack: StackEnv, api: AirflowApi) -> None:
    from playwright.sync_api import expect

    dag_ids = sorted(dag["dag_id"] for dag in api.dags())
    page.goto(stack["AIRFLOW_API_URL"] + "/dags")
    for dag_id in dag_ids:
        expect(page.get_by_text(dag_id, exact=True).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "stack-dag-list.png", full_page=True)


def test_a_runs_mapped_deliver_rows_carry_their_labels(
    page: Any, stack: StackEnv, api: AirflowApi, unpaused, run_id: str
) -> None:
    from playwright.sync_api import expect

    unpaused(AWS_CONFIG)
    api.trigger(AWS_CONFIG, run_id, {"regions": ["us-east-1", "eu-west-1"]})
    assert api.wait_for_run(AWS_CONFIG, run_id, timeout=300)["state"] == "success"
    labels = [ti["rendered_map_index"] for ti in api.task_instances(AWS_CONFIG, run_id) if ti["task_id"] == "deliver"]
    assert len(labels) >= 2 and all(label.startswith("AwsConfigEnablement: ") for label in labels)

    page.goto(f"{stack['AIRFLOW_API_URL']}/dags/{AWS_CONFIG}/runs/{run_id}/tasks/deliver/mapped")
    for label in labels:
        expect(page.get_by_text(label, exact=True).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "stack-mapped-deliver-labels.png", full_page=True)


def test_the_trigger_form_shows_the_narrowing_params_with_their_descriptions(
    page: Any, stack: StackEnv, api: AirflowApi
) -> None:
    from playwright.sync_api import expect

    params = api.call("GET", f"/api/v2/dags/{AWS_CONFIG}/details")["params"]
    page.goto(f"{stack['AIRFLOW_API_URL']}/dags/{AWS_CONFIG}")
    page.get_by_role("button", name=re.compile("^trigger", re.I)).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    # Airflow folds the params into "Advanced options" when the DAG has any; open it if it is closed.
    toggle = dialog.get_by_text(re.compile("advanced options|run parameters", re.I))
    if toggle.count() and not dialog.get_by_text(params["commit"]["description"]).count():
        toggle.first.click()
    for name in ("commit", "templates", "accounts", "regions"):
        param = params[name]
        # Each param is a group: its title (Airflow may add a "required" mark), its field, its description.
        group = dialog.get_by_role("group").filter(has_text=re.compile(rf"^\s*{param['schema']['title']}\b"))
        expect(group.first).to_be_visible()
        expect(group.get_by_text(param["description"]).first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "stack-trigger-form.png", full_page=True)
