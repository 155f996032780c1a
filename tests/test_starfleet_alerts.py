"""Ship alerts (Starfleet's ``send_alert``) and failed-run notifications (Airflow's Slack and SNS notifiers).

Alerts go to a loopback fake of Slack's Web API that records what it receives; SNS is moto's, read back through
an SQS subscription. A ship's work never depends on an alert getting through.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.core.alerts import should_send
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import AlertPriority
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.runtime import activate
from tests.airflow_fixtures import Deployment, run_dag
from tests.starfleet_fixtures import SLACK_TOKEN, STARFLEET_SHIPS, FakeSlack, put_secret
from tests.test_starfleet_ships import (
    DESIRED_POLICY,
    INDEX,
    ORG,
    PASSWORD_ACCOUNTS,
    SECRET_ID,
    aws_world,
    password_policy,
    starfleet_deployment,
)

pytestmark = pytest.mark.usefixtures("airflow_db", "clean_starfleet_state")

SENDERS = [AlertPriority.PROBLEM, AlertPriority.IMPORTANT, AlertPriority.SUCCESS, AlertPriority.INFORMATIONAL]
EMOJI = {"PROBLEM": "🚨", "IMPORTANT": "📣", "SUCCESS": "✅", "INFORMATIONAL": "ℹ️"}  # noqa: RUF001


def loaded_ship(deployment: Deployment, threshold: str) -> Any:
    deployment.ships["PasswordPolicyShip"]["AlertConfiguration"]["AlertPriority"] = threshold
    deployment.write()
    configuration = load_configuration(deployment.config_dir)
    activate(STARFLEET_SHIPS)
    registry = load_ships(configuration, STARFLEET_SHIPS, use_entry_points=False)
    return configuration, registry.get("PasswordPolicyShip")


@pytest.mark.parametrize("threshold", [p.name for p in AlertPriority])
def test_send_alert_reaches_slack_at_or_above_the_threshold_and_nothing_below(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, threshold: str
) -> None:
    starfleet_deployment(deployment, monkeypatch, fake_slack)
    configuration, loaded = loaded_ship(deployment, threshold)
    ship = loaded.instantiate()
    with mock_aws(), STARFLEET_CONFIGURATION.serving(configuration):
        put_secret(SECRET_ID, {"STARFLEET": {"SlackToken": SLACK_TOKEN}})
        for priority in SENDERS:
            ship.send_alert(priority, f"{priority.name} title", f"*{priority.name}* body")

    expected = [p for p in SENDERS if p.value <= AlertPriority[threshold].value]  # Starfleet's order
    assert expected == [p for p in SENDERS if should_send(AlertPriority[threshold], p)]
    assert fake_slack.texts() == [f"{EMOJI[p.name]}  {p.name} title" for p in expected]
    for post, priority in zip(fake_slack.posts, expected, strict=True):
        assert post.token == SLACK_TOKEN and post.channel == "C0PASSWORDS"
        assert post.body["blocks"] == [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{EMOJI[priority.name]}  {priority.name} title", "emoji": True},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{priority.name}* body"}},
        ]


def test_no_alert_without_slack_enabled(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    starfleet_deployment(deployment, monkeypatch, fake_slack, SlackEnabled=False)
    configuration, loaded = loaded_ship(deployment, "INFORMATIONAL")
    with STARFLEET_CONFIGURATION.serving(configuration):
        loaded.instantiate().send_alert(AlertPriority.PROBLEM, "title", "body")
    assert fake_slack.posts == []


def test_a_failed_alert_never_fails_the_ships_work(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    from starfleet_airflow.lambda_worker import handler

    fake_slack.fail_with = "channel_not_found"  # Slack answers ok=false: the SDK raises SlackApiError
    starfleet_deployment(deployment, monkeypatch, fake_slack)
    with mock_aws():
        aws_world()
        committed = run_dag("starfleet_password_policy_ship", conf={"commit": True})
        changed = {account: password_policy(account) for account in PASSWORD_ACCOUNTS}

        # The Lambda side with no token in the secret at all (Starfleet raised out of send_alert here).
        boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
            SecretId=SECRET_ID, SecretString=json.dumps({"STARFLEET": {}})
        )
        monkeypatch.setattr(handler, "_LOADED", {})
        monkeypatch.setenv("STARFLEET_SHIP", "PasswordPolicyShip")
        monkeypatch.setenv("STARFLEET_COMMIT", "true")
        monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(deployment.config_dir))
        account = PASSWORD_ACCOUNTS[0]
        body = {
            "TemplateName": "Longer",
            "TemplateDescription": "a change the Lambda makes",
            "IncludeAccounts": {"ByIds": [account]},
            "MinimumPasswordLength": 20,
            "MaxPasswordAge": 60,
            "StarbaseAssignedAccount": account,
        }
        answer = handler.handler({"Records": [{"messageId": "m-1", "body": json.dumps(body)}]})
        after_lambda = password_policy(account)

    assert committed.state == "success" and committed.report["failed"] == 0
    assert changed == dict.fromkeys(PASSWORD_ACCOUNTS, DESIRED_POLICY)
    assert len(fake_slack.posts) == len(PASSWORD_ACCOUNTS), "every alert was tried, each refused by Slack"
    assert answer == {"batchItemFailures": []}
    assert after_lambda == {**DESIRED_POLICY, "MinimumPasswordLength": 20}


def test_alerts_through_an_airflow_slack_connection(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    """``STARFLEET.SlackConnId``: the Slack provider's hook and its connection, no secret needed in Airflow."""
    connection = {
        "conn_type": "slack",
        "password": "xoxb-from-the-connection",
        "extra": {"base_url": fake_slack.base_url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_STARFLEET", json.dumps(connection))
    starfleet_deployment(deployment, monkeypatch, fake_slack, SlackConnId="slack_starfleet")
    del deployment.starfleet["SecretsManager"], deployment.starfleet["SlackApiUrl"]
    deployment.write()
    with mock_aws():
        result = run_dag("starfleet_password_policy_ship", conf={"commit": True})

    assert result.state == "success"
    assert {post.token for post in fake_slack.posts} == {"xoxb-from-the-connection"}
    assert len(fake_slack.posts) == len(PASSWORD_ACCOUNTS)


# -- a failed run tells someone -------------------------------------------------------------------------------------

ACCOUNT_TEMPLATE = {
    "TemplateName": "Baseline",
    "TemplateDescription": "Production",
    "IncludeAccounts": {"ByOrgUnits": ["Production"]},
}


def notified_deployment(deployment: Deployment, fake_slack: FakeSlack, topic_arn: str, **ship_airflow: Any) -> None:
    """The recorder test ship, inline, with STARFLEET.FailureNotifications: Slack (a connection) and SNS."""
    deployment.write_index(ORG)
    deployment.starfleet["FailureNotifications"] = [
        {"Slack": {"Channel": "C0FAILURES", "SlackConnId": "slack_failures"}},
        {"Sns": {"TargetArn": topic_arn}},
    ]
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", **ship_airflow},
    }
    deployment.write()


def sns_to_sqs() -> tuple[str, Any, str]:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic_arn = sns.create_topic(Name="starfleet-failures")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="failures-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, sqs, queue_url


def sns_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def slack_failures_connection(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    connection = {"conn_type": "slack", "password": "xoxb-failures", "extra": {"base_url": fake_slack.base_url}}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_FAILURES", json.dumps(connection))


@pytest.mark.usefixtures("slack_failures_connection")
def test_a_run_over_its_tolerance_notifies_slack_and_sns(deployment: Deployment, fake_slack: FakeSlack) -> None:
    victim = sorted(INDEX.by_org_unit("Production"))[0]
    with mock_aws():
        topic_arn, sqs, queue_url = sns_to_sqs()
        notified_deployment(deployment, fake_slack, topic_arn)
        deployment.add_template("AccountRecorderShip/baseline.yaml", {**ACCOUNT_TEMPLATE, "FailFor": [victim]})
        result = run_dag("starfleet_account_recorder_ship")
        published = sns_messages(sqs, queue_url)

    assert result.state == "failed" and result.state_of("report") == "failed"
    [post] = fake_slack.posts
    assert post.channel == "C0FAILURES" and post.token == "xoxb-failures"
    assert post.text.startswith("*Starfleet: the AccountRecorderShip run failed*\n")
    assert f"AccountRecorderShip: run {result.run_id} of starfleet_account_recorder_ship failed" in post.text
    [message] = published
    assert message["Subject"] == "Starfleet: the AccountRecorderShip run failed"
    assert f"run {result.run_id}" in message["Message"]
    assert "Failed task: report." in message["Message"]


@pytest.mark.usefixtures("slack_failures_connection")
def test_a_refused_run_notifies_and_a_good_one_does_not(deployment: Deployment, fake_slack: FakeSlack) -> None:
    excluded = next(iter(INDEX.by_names(["dev-web-1"])))  # not under Production
    with mock_aws():
        topic_arn, sqs, queue_url = sns_to_sqs()
        notified_deployment(deployment, fake_slack, topic_arn)
        deployment.add_template("AccountRecorderShip/baseline.yaml", ACCOUNT_TEMPLATE)
        good = run_dag("starfleet_account_recorder_ship")
        quiet = (list(fake_slack.posts), sns_messages(sqs, queue_url))
        refused = run_dag("starfleet_account_recorder_ship", conf={"accounts": [excluded]})
        published = sns_messages(sqs, queue_url)

    assert good.state == "success" and quiet == ([], [])
    assert refused.state == "failed" and refused.state_of("plan") == "failed"
    assert len(fake_slack.posts) == 1 and len(published) == 1
    assert f"run {refused.run_id}" in published[0]["Message"]


@pytest.mark.usefixtures("slack_failures_connection")
def test_a_ships_own_empty_list_turns_the_notifications_off(deployment: Deployment, fake_slack: FakeSlack) -> None:
    victim = sorted(INDEX.by_org_unit("Production"))[0]
    with mock_aws():
        topic_arn, sqs, queue_url = sns_to_sqs()
        notified_deployment(deployment, fake_slack, topic_arn, FailureNotifications=[])
        deployment.add_template("AccountRecorderShip/baseline.yaml", {**ACCOUNT_TEMPLATE, "FailFor": [victim]})
        result = run_dag("starfleet_account_recorder_ship")
        published = sns_messages(sqs, queue_url)

    assert result.state == "failed"
    assert fake_slack.posts == [] and published == []


def test_notification_settings_are_validated(deployment: Deployment) -> None:
    deployment.write_index(ORG)
    deployment.starfleet["FailureNotifications"] = [
        {"Slack": {"Channel": "C1"}, "Sns": {"TargetArn": "arn:aws:sns:us-east-1:1:t"}},
        {"Sns": {"TargetArn": "nope"}},
    ]
    deployment.starfleet["SlackEnabled"] = True
    deployment.write()
    problems = {(p.key, p.message) for p in load_configuration(deployment.config_dir).errors}
    assert ("FailureNotifications.0", "expected exactly one of Slack or Sns, got 2") in problems
    assert ("FailureNotifications.1.Sns.TargetArn", "expected an SNS topic or endpoint ARN") in problems
    assert any(
        key == "SlackEnabled" and "SecretsManager" in message and "SlackConnId" in message for key, message in problems
    )
