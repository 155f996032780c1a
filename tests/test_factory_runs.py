"""Ship DAGs run for real with ``dag.test()``: SQS delivery against moto, inline delivery, narrowing, commit.

Expected targets come from the account index and Starfleet's rules (``resolve_targets``, tested on its
own), and expected message bodies from Starfleet's own algorithm (the template as loaded, keys set,
``json.dumps`` per target): the queue must hold exactly those, no more, no less.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.devtools.synthetic_org import build_index, sample_organisation
from tests.airflow_fixtures import Deployment, run_dag
from tests.fixtures.factory_ships.recorders import AccountPayload, RegionPayload

pytestmark = pytest.mark.usefixtures("airflow_db")

ORG = sample_organisation()
INDEX = AccountIndex.from_dict(ORG)


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue (received and deleted)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def starbase_bodies(template_yaml: str, targets: list[tuple[str | None, str | None]]) -> list[str]:
    """What Starfleet's Starbase sends: the loaded template, keys set in place, one json.dumps per target."""
    template = yaml.safe_load(template_yaml)
    bodies = []
    for account_id, region in targets:
        template["StarbaseAssignedAccount"] = account_id
        if region is not None:
            template["StarbaseAssignedRegion"] = region
        bodies.append(json.dumps(template))
    return bodies


ACCOUNT_TEMPLATE = """\
TemplateName: ProductionBaseline
TemplateDescription: Everything under Production, except the data accounts
IncludeAccounts:
  ByOrgUnits: [Production]
ExcludeAccounts:
  ByOrgUnits: [Data]
"""

REGION_TEMPLATE = """\
TemplateName: WebRegions
TemplateDescription: "Web accounts, two regions — unicode kept: café"
IncludeAccounts:
  ByOrgUnits: [Web]
IncludeRegions: [us-east-1, eu-west-1, af-south-1]
ExcludeRegions: [af-south-1]
"""


def queue_deployment(deployment: Deployment, ship: str, queue_url: str, template_key: str, template: str) -> None:
    deployment.write_index(ORG)
    deployment.ships[ship] = {"Enabled": True, "TemplatePrefix": f"{ship}/", "InvocationQueueUrl": queue_url}
    deployment.add_template(template_key, template)
    deployment.write()


@pytest.mark.parametrize(
    ("ship", "payload_schema", "template", "strategy"),
    [
        ("AccountRecorderShip", AccountPayload, ACCOUNT_TEMPLATE, FanOutStrategy.ACCOUNT),
        ("RegionRecorderShip", RegionPayload, REGION_TEMPLATE, FanOutStrategy.ACCOUNT_REGION),
    ],
    ids=["ACCOUNT", "ACCOUNT_REGION"],
)
def test_sqs_delivery_puts_exactly_starbase_bodies_on_the_queue(
    deployment: Deployment, ship: str, payload_schema: Any, template: str, strategy: FanOutStrategy
) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName=f"{ship}-queue")["QueueUrl"]
        queue_deployment(deployment, ship, queue_url, f"{ship}/baseline.yaml", template)

        result = run_dag(f"starfleet_{'account' if strategy is FanOutStrategy.ACCOUNT else 'region'}_recorder_ship")
        messages = drain(sqs, queue_url)

    targets = resolve_targets(payload_schema().load(yaml.safe_load(template)), INDEX, strategy)
    assert len(targets) >= 4, "the template selects several targets of the sample organisation"
    assert Counter(m["Body"] for m in messages) == Counter(starbase_bodies(template, targets))
    assert result.state == "success"
    assert result.plan_label == f"{len(targets)} targets in 1 work unit from 1 template"
    for message in messages:
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes == {
            "StarfleetDagRunId": result.run_id,
            "StarfleetShip": ship,
            "StarfleetTemplate": f"{ship}/baseline.yaml",
        }
    report = result.report
    assert report["targets"] == report["succeeded"] == len(targets)
    assert {(row["account_id"], row["region"]) for row in report["rows"]} == set(targets)
    assert {row["outcome"] for row in report["rows"]} == {"sent"}
    assert {row["account_name"] for row in report["rows"]} == {INDEX.name_of(a) for a, _ in targets}


def inline_deployment(deployment: Deployment, **airflow: Any) -> None:
    deployment.write_index(ORG)
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", "Concurrency": 4, **airflow},
    }


def test_inline_delivery_one_failing_target_against_the_tolerance(deployment: Deployment) -> None:
    inline_deployment(deployment)
    victim = sorted(INDEX.by_org_unit("Production") - INDEX.by_org_unit("Data"))[1]
    deployment.add_template("AccountRecorderShip/baseline.yaml", ACCOUNT_TEMPLATE + f"FailFor: ['{victim}']\n")
    deployment.write()
    expected = sorted(INDEX.by_org_unit("Production") - INDEX.by_org_unit("Data"))

    strict = run_dag("starfleet_account_recorder_ship")

    assert strict.state == "failed"
    assert strict.state_of("report") == "failed"
    # one mapped task per account, labelled with the account's name and id, all of which succeeded
    assert sorted(strict.rendered_map_indexes.values()) == sorted(
        f"ProductionBaseline: {INDEX.name_of(a)} ({a})" for a in expected
    )
    assert all(strict.state_of("deliver", i) == "success" for i in strict.rendered_map_indexes)
    report = strict.report
    assert report["ok"] is False and report["failed"] == 1 and report["succeeded"] == len(expected) - 1
    assert strict.note == report["verdict"] and "1 failure exceeds the tolerance (0)" in strict.note
    rows = {row["account_id"]: row for row in report["rows"]}
    assert set(rows) == set(expected)
    assert rows[victim]["outcome"] == "failed"
    assert rows[victim]["error"] == f"RuntimeError: asked to fail in {victim}"
    assert rows[victim]["account_name"] == INDEX.name_of(victim)
    others = [row for account, row in rows.items() if account != victim]
    assert all(row["outcome"] == "succeeded" and row["detail"]["commit"] is False for row in others)

    inline_deployment(deployment, FailureTolerance=1)
    deployment.write()
    tolerant = run_dag("starfleet_account_recorder_ship")
    assert tolerant.state == "success"
    assert tolerant.report["ok"] is True and tolerant.report["failed"] == 1
    assert tolerant.note == tolerant.report["verdict"]  # the run's page says how it went, green or red


def test_conf_narrows_the_run_and_commit_reaches_the_ship(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.ships["RegionRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "RegionRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.add_template("RegionRecorderShip/web.yaml", REGION_TEMPLATE)
    deployment.add_template(
        "RegionRecorderShip/other.yaml",
        {
            "TemplateName": "Other",
            "TemplateDescription": "all",
            "IncludeAccounts": {"AllAccounts": True},
            "IncludeRegions": ["ALL"],
        },
    )
    deployment.write()
    web_accounts = sorted(INDEX.by_org_unit("Web"))
    chosen = web_accounts[0]

    result = run_dag(
        "starfleet_region_recorder_ship",
        conf={
            "templates": ["WebRegions"],
            "accounts": [INDEX.name_of(chosen)],
            "regions": ["eu-west-1"],
            "commit": True,
        },
    )

    assert result.state == "success"
    rows = result.report["rows"]
    assert [(row["template"], row["account_id"], row["region"]) for row in rows] == [
        ("RegionRecorderShip/web.yaml", chosen, "eu-west-1")
    ]
    detail = rows[0]["detail"]
    assert detail["commit"] is True
    assert detail["dag_run_id"] == result.run_id and detail["has_index"] is True
    assert detail["logical_date"] is not None and detail["data_interval_end"] is not None


def test_conf_outside_the_template_is_refused(
    deployment: Deployment, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    inline_deployment(deployment)
    deployment.add_template("AccountRecorderShip/baseline.yaml", ACCOUNT_TEMPLATE)
    deployment.write()
    excluded = sorted(INDEX.by_org_unit("Data"))[0]  # ExcludeAccounts takes it out

    result = run_dag("starfleet_account_recorder_ship", conf={"accounts": [excluded]})

    assert result.state == "failed"
    assert result.state_of("plan") == "failed"
    assert result.state_of("deliver") == "upstream_failed"
    assert set(result.rendered_map_indexes) == {-1}, "the deliver task was never expanded: nothing was delivered"
    assert result.state_of("report") == "failed"
    reason = (
        f"refused: account {INDEX.name_of(excluded)} ({excluded}) is not selected by the templates of this run"
        " (AccountRecorderShip/baseline.yaml); a trigger can only narrow a run"
    )
    # Where the user looks first: the run's note (the UI's run page, the REST API's ``note``) ...
    assert result.note == reason
    # ... the plan task's label (rendered_map_index in the REST API, the UI's row) ...
    assert result.plan_label is not None and result.plan_label.startswith(reason)
    # ... and the failed task's first line is the reason; Airflow's failure record repeats it, without the
    # chained PlanRefused traceback ("direct cause").
    ours = {
        name: [r.getMessage() for r in caplog.records if r.name == f"starfleet_airflow.airflow.tasks.{name}"]
        for name in ("plan", "report")
    }
    assert ours["plan"] and ours["plan"][0] == reason
    log = capfd.readouterr().out  # what Airflow's task runner printed: no traceback wall, no retry
    assert "Task failed with exception" not in log and "Traceback (most recent call last)" not in log
    assert "up_for_retry" not in log
    # The report says plainly, in one line, that there was nothing to report, and why.
    assert ours["report"] == [f"nothing to report: the plan task failed, so nothing was delivered ({reason})"]
    assert "did not finish" not in log


def test_single_invocation_ship_runs_once_per_template(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "OnceRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", "DefaultCommit": True},
    }
    deployment.add_template("OnceRecorderShip/a.yaml", {"TemplateName": "First", "TemplateDescription": "one"})
    deployment.add_template("OnceRecorderShip/b.yaml", {"TemplateName": "Second", "TemplateDescription": "two"})
    deployment.add_template("OnceRecorderShip/broken.yaml", {"TemplateDescription": "no name"})
    deployment.write()

    result = run_dag("starfleet_once_recorder_ship")

    assert sorted(result.rendered_map_indexes.values()) == ["First", "Second"]
    report = result.report
    by_template = {row["template"]: row for row in report["rows"]}
    assert by_template["OnceRecorderShip/a.yaml"]["detail"]["template"] == "First"
    assert by_template["OnceRecorderShip/b.yaml"]["detail"]["commit"] is True
    assert by_template["OnceRecorderShip/broken.yaml"]["outcome"] == "invalid template"
    assert "TemplateName" in by_template["OnceRecorderShip/broken.yaml"]["error"]
    assert report["invalid_templates"] == 1 and report["succeeded"] == 2
    assert result.state == "failed", "an invalid template fails the run at the default tolerance of 0"


def test_single_invocation_ship_plans_before_any_index_exists(deployment: Deployment) -> None:
    # No write_index: the account index generator (SINGLE_INVOCATION) is what creates the first index.
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "OnceRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    deployment.add_template("OnceRecorderShip/a.yaml", {"TemplateName": "First", "TemplateDescription": "one"})
    deployment.write()
    assert not (deployment.root / "accountIndex.json").exists()

    result = run_dag("starfleet_once_recorder_ship")

    assert result.state == "success"
    assert [row["outcome"] for row in result.report["rows"]] == ["succeeded"]


def test_broken_ship_placeholder_fails_with_its_message(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.ships["OnceRecorderShip"] = {"Enabled": True, "Airflow": {"DeliveryMode": "INLINE"}}  # no TemplatePrefix
    deployment.write()

    result = run_dag("starfleet_once_recorder_ship__broken")

    assert result.state == "failed"
    assert result.state_of("explain_problem") == "failed"


class RecordingSqs:
    """Stands in for the SQS API in the organisation-size run: records each call, accepts every entry."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.bodies: list[str] = []
        self._lock = threading.Lock()

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(len(Entries))
            self.bodies.extend(entry["MessageBody"] for entry in Entries)
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in Entries], "Failed": []}


def test_5000_accounts_by_20_regions_in_one_run_with_minimal_sqs_calls(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook
    from airflow.sdk import conf

    organisation = build_index(5000, 20)
    template = {
        "TemplateName": "Everywhere",
        "TemplateDescription": "every account, every region",
        "IncludeAccounts": {"AllAccounts": True},
        "IncludeRegions": ["ALL"],
    }
    deployment.write_index(organisation)
    deployment.ships["RegionRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "RegionRecorderShip/",
        "InvocationQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/big",
    }
    deployment.add_template("RegionRecorderShip/everywhere.yaml", template)
    deployment.write()
    stub = RecordingSqs()
    monkeypatch.setattr(SqsHook, "get_conn", lambda self: stub)  # the AWS API, not our code

    result = run_dag("starfleet_region_recorder_ship")

    targets = resolve_targets(
        RegionPayload().load(template), AccountIndex.from_dict(organisation), FanOutStrategy.ACCOUNT_REGION
    )
    assert len(targets) > 90_000
    assert result.state == "success"
    units = [i for i in result.rendered_map_indexes if i >= 0]
    assert 1 < len(units) <= conf.getint("core", "max_map_length")
    assert len(stub.calls) == math.ceil(len(targets) / 10)
    assert Counter(stub.bodies) == Counter(starbase_bodies(yaml.safe_dump(template, sort_keys=False), targets))
    report = result.report
    assert report["succeeded"] == len(targets) and report["failed"] == 0
    assert report["successes_listed"] is False and report["rows"] == []


def test_a_run_with_nothing_selected_succeeds_and_says_why(deployment: Deployment) -> None:
    inline_deployment(deployment)
    deployment.add_template(
        "AccountRecorderShip/nobody.yaml",
        {
            "TemplateName": "Nobody",
            "TemplateDescription": "a tag no account carries",
            "IncludeAccounts": {"ByTags": [{"Name": "Team", "Value": "nobody"}]},
        },
    )
    deployment.write()

    result = run_dag("starfleet_account_recorder_ship")

    assert result.state == "success"
    assert result.state_of("deliver") == "skipped"
    report = result.report
    assert report["targets"] == 0 and report["rows"] == []
    assert any("ByTags Team=nobody matches no account" in note for note in report["notes"])


def test_templates_index_and_snapshots_in_s3(deployment: Deployment) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="starfleet-templates")
        s3.put_object(Bucket="starfleet-templates", Key="index/accountIndex.json", Body=json.dumps(ORG).encode())
        s3.put_object(
            Bucket="starfleet-templates", Key="tpl/RegionRecorderShip/web.yaml", Body=REGION_TEMPLATE.encode()
        )
        s3.put_object(Bucket="starfleet-templates", Key="tpl/Other/ignored.yaml", Body=b"TemplateName: x\n")
        deployment.starfleet.update(
            {
                "TemplateLocation": "s3://starfleet-templates/tpl/",
                "AccountIndexLocation": "s3://starfleet-templates/index/accountIndex.json",
                "SnapshotLocation": "s3://starfleet-templates/snapshots/",
            }
        )
        deployment.ships["RegionRecorderShip"] = {
            "Enabled": True,
            "TemplatePrefix": "RegionRecorderShip/",
            "Airflow": {"DeliveryMode": "INLINE"},
        }
        deployment.write()

        result = run_dag("starfleet_region_recorder_ship")
        snapshots = [
            o["Key"] for o in s3.list_objects_v2(Bucket="starfleet-templates", Prefix="snapshots/")["Contents"]
        ]

    expected = resolve_targets(
        RegionPayload().load(yaml.safe_load(REGION_TEMPLATE)), INDEX, FanOutStrategy.ACCOUNT_REGION
    )
    assert result.state == "success"
    assert sorted((row["account_id"], row["region"]) for row in result.report["rows"]) == sorted(expected)
    assert {row["template"] for row in result.report["rows"]} == {"RegionRecorderShip/web.yaml"}
    # the run's snapshot, and the index version it used, stored once under its own digest
    runs = [key for key in snapshots if "/index/" not in key]
    assert len(runs) == 1 and runs[0].startswith("snapshots/RegionRecorderShip/")
    assert [key.split("/")[:3] for key in snapshots if "/index/" in key] == [
        ["snapshots", "RegionRecorderShip", "index"]
    ]
