"""The demo's Airflow UI in a real browser: a refused trigger says why at first glance, the demo's logs show.

The setup is the one docs/demo.md describes: ``scripts/demo.sh --serve`` (here its module, with 5 accounts,
the generator and the inline ship, in tmp folders and on free ports), then ``airflow standalone`` with the
environment the demo wrote. The inline ship is made manual-only in the copied configuration, so a trigger
runs without unpausing (which would add a full-scope scheduled run). Debian's chromium through playwright
(never ``playwright install``); screenshots go to ``.starfleet/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from starfleet_airflow.devtools.stand_in.ports import free_port
from tests.browser import launch_chromium

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / ".starfleet" / "screenshots"
SHIP = "S3PublicAccessBlockWorkerShip"
DAG = "starfleet_s3_public_access_block_worker_ship"

pytestmark = pytest.mark.skipif(
    not shutil.which("chromium"), reason="needs Debian's chromium (apt-get install chromium)"
)


@dataclass
class Ui:
    base: str
    password: str
    session: requests.Session

    def api(self, path: str, **kwargs: object) -> dict:
        response = self.session.request(kwargs.pop("method", "GET"), f"{self.base}/api/v2{path}", **kwargs)  # type: ignore[arg-type]
        response.raise_for_status()
        return response.json()


def _wait_for(what: str, check, timeout: float = 300.0, every: float = 2.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen) -> None:
    """Stop a process this test started, and its process group (standalone starts the components)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    root = tmp_path_factory.mktemp("demo-ui")
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "templates", root / "templates")
    section_file = root / "config" / "s3_public_access_block.yaml"
    data = yaml.safe_load(section_file.read_text(encoding="utf-8"))
    for key in ("InvocationSources", "EventBridgeTimedFrequency"):
        data[SHIP].pop(key)  # manual only: created unpaused, so a trigger runs at once
    section_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    state = root / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STARFLEET_"))}
    options = ["--serve", "--accounts", "5", "--ships", f"AccountIndexGeneratorShip,{SHIP}"]
    options += ["--config-dir", str(root / "config"), "--state-dir", str(state), "--port", str(free_port())]
    demo = subprocess.Popen(
        [sys.executable, "-m", "starfleet_airflow.devtools.demo", *options],
        cwd=REPO,
        env=env,
        stdout=open(root / "demo.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    standalone = None
    try:
        _wait_for("the demo to serve", lambda: "serving the AWS stand-in" in (root / "demo.log").read_text(), 600)
        api_port, log_port = free_port(), free_port()
        ports = (
            f"export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT={api_port}"
            f" AIRFLOW__API__BASE_URL=http://localhost:{api_port}"
            f" AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:{api_port}/execution/"
            f" AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT={log_port}"
        )
        standalone = subprocess.Popen(
            ["bash", "-c", f"source {state / 'demo-env.sh'} && {ports} && exec airflow standalone"],
            cwd=REPO,
            env=env,
            stdout=open(root / "standalone.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://localhost:{api_port}"

        def healthy() -> bool:
            try:
                health = requests.get(f"{base}/api/v2/monitor/health", timeout=5).json()
            except (requests.RequestException, ValueError):
                return False
            return all(health.get(part, {}).get("status") == "healthy" for part in ("scheduler", "dag_processor"))

        _wait_for("airflow standalone to be healthy", healthy, 300)
        password = json.loads((state / "airflow" / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield Ui(base, password, session)
    finally:
        if standalone is not None:
            _stop(standalone)
        _stop(demo)


@pytest.fixture(scope="module")
def browser(ui: Ui) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        page = chromium.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(ui.base + "/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ui.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
        yield page
        chromium.close()


def _show(page, url: str, shot: str, text: str) -> str:  # type: ignore[no-untyped-def]
    """Open ``url``, wait until ``text`` shows, screenshot it; returns the page's text."""
    page.goto(url)
    page.get_by_text(text).first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    return str(page.inner_text("body"))


def test_a_refused_trigger_says_why_on_the_run_page_and_first_in_the_log(ui: Ui, browser) -> None:  # type: ignore[no-untyped-def]
    run = ui.api(f"/dags/{DAG}/dagRuns", method="POST", json={"logical_date": None, "conf": {"accounts": ["nobody"]}})
    run_id = run["dag_run_id"]
    done = _wait_for(
        "the refused run to finish",
        lambda: (r := ui.api(f"/dags/{DAG}/dagRuns/{run_id}"))["state"] in ("failed", "success") and r,
    )
    reason = "refused: account 'nobody' is not in the account index"
    assert done["state"] == "failed" and done["note"].startswith(reason)  # the REST API returns the note

    page_text = _show(browser, f"{ui.base}/dags/{DAG}/runs/{run_id}", "demo-ui-refused-run.png", reason)
    assert reason in page_text  # at the top of the run's page

    log_text = _show(browser, f"{ui.base}/dags/{DAG}/runs/{run_id}/tasks/plan", "demo-ui-refused-plan.png", reason)
    log = log_text[log_text.index("Pre Execute") :]
    first = next(line for line in log.splitlines() if " - " in line)
    assert first.split(" - ", 1)[1].startswith(reason)  # the failed task's first log line
    assert "Traceback" not in log and "Task failed with exception" not in log and "AirflowFailException" not in log

    report = _show(browser, f"{ui.base}/dags/{DAG}/runs/{run_id}/tasks/report", "demo-ui-refused-report.png", "nothing")
    assert "nothing to report: the plan task failed, so nothing was delivered" in report


def test_the_demos_own_runs_show_their_task_logs_and_labels(ui: Ui, browser) -> None:  # type: ignore[no-untyped-def]
    runs = ui.api(f"/dags/{DAG}/dagRuns", params={"order_by": "start_date"})["dag_runs"]
    demo_run = next(r for r in runs if r["state"] == "success")  # the demo's dry run, by `airflow dags test`
    assert demo_run["note"].startswith(f"{SHIP}: OK")
    run_id = demo_run["dag_run_id"]
    plan = _show(browser, f"{ui.base}/dags/{DAG}/runs/{run_id}/tasks/plan", "demo-ui-demo-plan-log.png", "targets in")
    assert "written by scripts/demo.sh" in plan and "Could not read served logs" not in plan

    mapped = _show(browser, f"{ui.base}/dags/{DAG}/runs/{run_id}/tasks/deliver/mapped", "demo-ui-deliver.png", "(")
    labels = [
        ti["rendered_map_index"]
        for ti in ui.api(f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/deliver/listMapped")["task_instances"]
    ]
    assert labels and all(label.startswith("BlockS3PublicAccess: ") and label in mapped for label in labels)
    cell = _show(
        browser, f"{ui.base}/dags/{DAG}/runs/{run_id}/tasks/deliver/mapped/0", "demo-ui-deliver-log.png", "delivered"
    )
    assert "written by scripts/demo.sh" in cell and "Could not read served logs" not in cell


def test_the_trigger_form_marks_only_commit_required_and_offers_regions(ui: Ui, browser) -> None:  # type: ignore[no-untyped-def]
    browser.goto(f"{ui.base}/dags/starfleet_aws_config_worker_ship")
    browser.get_by_role("button", name="Trigger").first.click()
    form = browser.get_by_role("dialog")
    form.get_by_text("Regions").first.wait_for(timeout=60_000)
    browser.screenshot(path=str(SHOTS / "demo-ui-trigger-form.png"), full_page=True)
    required = form.locator("label.chakra-field__label[data-required]")  # the red asterisk's label
    assert [text.strip(" *\n") for text in required.all_inner_texts()] == ["Commit"]
    regions = form.locator("#element_regions")
    assert "Select one or multiple values" in regions.inner_text()  # a multi-select, not free text
    regions.click()
    browser.get_by_text("eu-west-1", exact=True).first.wait_for(timeout=30_000)
    browser.screenshot(path=str(SHOTS / "demo-ui-trigger-regions.png"), full_page=True)
