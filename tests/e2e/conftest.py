"""End-to-end tests against the running stack (``scripts/stack.sh up``), marker ``e2e``.

They are left out of the default test run (``-m "not e2e"`` in pyproject.toml) and selected with
``pytest -m e2e tests/e2e`` once the stack is up (``.ci/run`` does both, and takes the stack down after).
The stack is found through ``.starfleet/stack/stack.env`` (``$STARFLEET_STACK_ENV`` to use another).

Fixtures for anyone measuring or testing on the stack: ``stack`` (the ``StackEnv``: credentials,
endpoints, boto3 clients on the stand-in), ``api`` (the REST client, logged in), ``index`` (the account
index the stack's runs resolve against), ``unpaused`` (unpause a ship DAG for the test), ``run_id``
(a unique run id per test) and ``page`` (the UI, logged in, in Debian's chromium). Tests name their own
run ids and read back only what carries them.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from starfleet_airflow.devtools.stack.api import AirflowApi, StackEnv
from starfleet_airflow.devtools.stack.settings import REPO, STATE_BUCKET
from tests.browser import launch_chromium

STACK_ENV = Path(os.environ.get("STARFLEET_STACK_ENV") or REPO / ".starfleet" / "stack" / "stack.env")
SCREENSHOTS = REPO / ".starfleet" / "screenshots"
TIMEOUT_MS = 60_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def stack() -> StackEnv:
    env = StackEnv.load(STACK_ENV)
    try:
        health = env.api().health()
    except Exception as exc:
        pytest.fail(f"the stack in {STACK_ENV} does not answer ({exc}); start it: scripts/stack.sh up")
    unhealthy = {k: v for k, v in health.items() if isinstance(v, dict) and v.get("status") != "healthy"}
    if unhealthy:
        pytest.fail(f"the stack is not healthy: {unhealthy}; see scripts/stack.sh status")
    return env


@pytest.fixture(scope="session")
def api(stack: StackEnv) -> AirflowApi:
    return stack.api()


@pytest.fixture(scope="session")
def index(stack: StackEnv) -> dict[str, Any]:
    """The account index in the stand-in's S3 (written by the generator at ``up``)."""
    body = stack.aws_client("s3").get_object(Bucket=STATE_BUCKET, Key="accountIndex.json")["Body"].read()
    return json.loads(body)


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    return f"e2e-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unpaused(api: AirflowApi) -> Iterator[Callable[[str], None]]:
    """``unpaused(dag_id)``: the DAG runs its runs during the test, and is paused again after it."""
    done: list[str] = []

    def unpause(dag_id: str) -> None:
        api.set_paused(dag_id, False)
        done.append(dag_id)

    yield unpause
    for dag_id in done:
        api.set_paused(dag_id, True)


@pytest.fixture(scope="module")
def page(stack: StackEnv) -> Iterator[Any]:
    """A logged-in page of the stack's UI in Debian's chromium through playwright (never ``playwright install``)."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            _log_in(page, stack)
            yield page
        finally:
            browser.close()


def _log_in(page: Any, stack: StackEnv) -> None:
    """SimpleAuthManager's login form, filled as a person would."""
    page.goto(stack["AIRFLOW_API_URL"] + "/")
    page.get_by_label(re.compile("username", re.I)).fill(stack["AIRFLOW_USERNAME"])
    page.get_by_label(re.compile("password", re.I)).fill(stack["AIRFLOW_PASSWORD"])
    page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))


def drain_queue(stack: StackEnv, queue_name: str) -> dict[str, list[dict[str, Any]]]:
    """Receive and delete every message of the queue; run id (``StarfleetDagRunId``) -> bodies."""
    sqs = stack.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    by_run: dict[str, list[dict[str, Any]]] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            return by_run
        for message in messages:
            run = (message.get("MessageAttributes") or {}).get("StarfleetDagRunId", {}).get("StringValue", "")
            by_run.setdefault(run, []).append(json.loads(message["Body"]))
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def active_account_ids(index: dict[str, Any]) -> list[str]:
    return sorted(a["Id"] for a in index["accounts"].values() if a.get("Status", "ACTIVE") == "ACTIVE")


def expected_targets(index: dict[str, Any], ship: str, template: str) -> list[tuple[str, str | None]]:
    """(account, region) pairs the project's resolver gives for a template of ``templates/`` on this index."""
    import yaml

    from starfleet_airflow.core.account_index import AccountIndex
    from starfleet_airflow.core.config import load_configuration
    from starfleet_airflow.core.registry import load_ships
    from starfleet_airflow.core.resolve import resolve_targets

    registry = load_ships(load_configuration(REPO / "stack" / "config"))
    loaded = registry.ships[ship]
    payload = loaded.ship_class.payload_template_class().load(
        yaml.safe_load((REPO / "templates" / template).read_text(encoding="utf-8"))
    )
    targets = resolve_targets(payload, AccountIndex.from_dict(index), loaded.fan_out_strategy)
    return [(target.account_id, target.region) for target in targets]
