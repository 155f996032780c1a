"""Ships written for Starfleet run here unmodified: DAG runs, the Lambda handlers and the CLI, against moto.

The ships (``tests/fixtures/starfleet_ships``) import only ``starfleet.*`` and themselves as
``starfleet.worker_ships.plugins.<package>``; they are loaded from their folder as they are. Every run's effect
is read back from moto with plain boto3 calls in the target account, and every alert from a loopback fake of
Slack's Web API.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import DAGS_FOLDER, Deployment, run_dag
from tests.starfleet_fixtures import SLACK_TOKEN, STARFLEET_SHIPS, FakeSlack, put_secret

pytestmark = pytest.mark.usefixtures("airflow_db", "clean_starfleet_state")

ORG = sample_organisation()
INDEX = AccountIndex.from_dict(ORG)
ROLE = "starfleet-worker"
SECRET_ID = "starfleet-secrets"
SIGNING_KEY = "census-signing-key"

PASSWORD_TEMPLATE = """\
TemplateName: StrongPasswords
TemplateDescription: Production keeps a strong password policy, except the shared account
IncludeAccounts:
  ByOrgUnits: [Production]
ExcludeAccounts:
  ByNames: [prod-shared]
MinimumPasswordLength: 16
MaxPasswordAge: 60
"""
PASSWORD_ACCOUNTS = sorted(INDEX.by_org_unit("Production") - INDEX.by_names(["prod-shared"]))
DESIRED_POLICY = {"MinimumPasswordLength": 16, "RequireSymbols": True, "RequireNumbers": True, "MaxPasswordAge": 60}

EBS_TEMPLATE = """\
TemplateName: EncryptEbs
TemplateDescription: Every Web account encrypts new volumes, except dev-web-1 in Ireland
IncludeAccounts:
  ByOrgUnits: [Web]
IncludeRegions: [us-east-1, eu-west-1]
EncryptByDefault: true
Overrides:
  - IncludeAccounts:
      ByNames: [dev-web-1]
    IncludeRegions: [eu-west-1]
    EncryptByDefault: false
"""
EBS_TARGETS = sorted(
    (account, region)
    for account in INDEX.by_org_unit("Web")
    for region in ("us-east-1", "eu-west-1")
    if region in INDEX.regions_of(account)
)
DEV_WEB_1 = next(iter(INDEX.by_names(["dev-web-1"])))

CENSUS_TEMPLATE = {
    "TemplateName": "Census",
    "TemplateDescription": "The organisation's accounts, counted",
    "CensusBucket": "census-bucket",
    "CensusBucketRegion": "us-east-1",
}


def assumed(account_id: str, service: str, region: str = "us-east-1") -> Any:
    """A client in ``account_id`` (moto keeps each account's state apart), as the ship reaches it."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="test-check"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def password_policy(account_id: str) -> dict[str, Any] | None:
    client = assumed(account_id, "iam")
    try:
        policy = client.get_account_password_policy()["PasswordPolicy"]
    except client.exceptions.NoSuchEntityException:
        return None
    return {key: policy.get(key) for key in DESIRED_POLICY}


def ebs_encrypted(account_id: str, region: str) -> bool:
    return assumed(account_id, "ec2", region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"]


def starfleet_deployment(
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    slack: FakeSlack | None = None,
    *,
    inline: bool = True,
    queue_url: str | None = None,
    **starfleet: Any,
) -> None:
    """The three Starfleet ships configured (alerts on where ``slack`` is given), templates and the index."""
    monkeypatch.setenv("STARFLEET_SHIPS_DIR", str(STARFLEET_SHIPS))
    deployment.write_index(ORG)
    deployment.starfleet.update({"SecretsManager": {"SecretId": SECRET_ID, "SecretRegion": "us-east-1"}, **starfleet})
    if slack is not None:
        deployment.starfleet.update({"SlackEnabled": True, "SlackApiUrl": slack.base_url})
    airflow = {"Airflow": {"DeliveryMode": "INLINE"}} if inline else {"InvocationQueueUrl": queue_url}
    deployment.ships["PasswordPolicyShip"] = {
        "Enabled": True,
        "TemplatePrefix": "PasswordPolicyShip/",
        "WorkerRoleToAssume": ROLE,
        "AlertConfiguration": {"ChannelId": "C0PASSWORDS", "AlertPriority": "SUCCESS"},
        **airflow,
    }
    deployment.ships["EbsEncryptionShip"] = {
        "Enabled": True,
        "TemplatePrefix": "EbsEncryptionShip/",
        "WorkerRoleToAssume": ROLE,
        "AlertConfiguration": {"ChannelId": "C0EBS", "AlertPriority": "IMPORTANT"},
        **airflow,
    }
    deployment.ships["AccountCensusShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountCensusShip/",
        "OrganisationName": "Sample Org",
        **airflow,
    }
    deployment.add_template("PasswordPolicyShip/strong.yaml", PASSWORD_TEMPLATE)
    deployment.add_template("EbsEncryptionShip/encrypt.yaml", EBS_TEMPLATE)
    deployment.add_template("AccountCensusShip/census.yaml", CENSUS_TEMPLATE)
    deployment.write()


def aws_world() -> None:
    """What the ships find in moto: the secret, the census bucket."""
    put_secret(SECRET_ID, {"STARFLEET": {"SlackToken": SLACK_TOKEN}, "AccountCensusShip": {"SigningKey": SIGNING_KEY}})
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="census-bucket")


# -- loading ------------------------------------------------------------------------------------------------------


def test_starfleet_ships_load_from_their_folder_unmodified(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from starfleet_airflow.tools.cli.main import main

    starfleet_deployment(deployment, monkeypatch)
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    assert {"starfleet_password_policy_ship", "starfleet_ebs_encryption_ship", "starfleet_account_census_ship"} <= set(
        bag.dag_ids
    )
    assert not [dag_id for dag_id in bag.dag_ids if dag_id.endswith("__broken")]
    ship_module = sys.modules["starfleet.worker_ships.plugins.password_policy.ship"]
    assert Path(ship_module.__file__) == STARFLEET_SHIPS / "password_policy" / "ship.py"
    assert main(["validate"]) == 0  # configuration, the three ships and their templates


# -- DAG runs: inline, dry run then commit ------------------------------------------------------------------------


def test_account_ship_dag_run_dry_then_commit_alerts_at_its_threshold(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    starfleet_deployment(deployment, monkeypatch, fake_slack)
    with mock_aws():
        aws_world()
        dry = run_dag("starfleet_password_policy_ship")
        assert dry.state == "success"
        assert all(password_policy(account) is None for account in PASSWORD_ACCOUNTS)
        # The dry run alerts INFORMATIONAL per drifting account: below the ship's SUCCESS threshold, so nothing.
        assert fake_slack.posts == []

        committed = run_dag("starfleet_password_policy_ship", conf={"commit": True})
        assert committed.state == "success"
        assert {account: password_policy(account) for account in PASSWORD_ACCOUNTS} == dict.fromkeys(
            PASSWORD_ACCOUNTS, DESIRED_POLICY
        )
        assert password_policy(next(iter(INDEX.by_names(["prod-shared"])))) is None  # excluded: untouched
        again = run_dag("starfleet_password_policy_ship", conf={"commit": True})

    assert {(row["account_id"], row["outcome"]) for row in committed.report["rows"]} == {
        (account, "succeeded") for account in PASSWORD_ACCOUNTS
    }
    posts = fake_slack.posts
    assert sorted(post.text for post in posts) == sorted(
        f"✅  Updated the password policy of {INDEX.name_of(account)}" for account in PASSWORD_ACCOUNTS
    )
    assert {(post.path, post.token, post.channel) for post in posts} == {
        ("/api/chat.postMessage", SLACK_TOKEN, "C0PASSWORDS")
    }
    assert posts[0].body["blocks"][0]["type"] == "header" and posts[0].body["blocks"][1]["text"]["type"] == "mrkdwn"
    assert again.state == "success" and len(fake_slack.posts) == len(PASSWORD_ACCOUNTS), "nothing left to change"


def test_account_region_ship_dag_run_with_override_blocks_resolved_at_execute_time(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    starfleet_deployment(deployment, monkeypatch, fake_slack)
    with mock_aws():
        aws_world()
        assumed(DEV_WEB_1, "ec2", "eu-west-1").enable_ebs_encryption_by_default()  # the override turns it off
        dry = run_dag("starfleet_ebs_encryption_ship")
        assert dry.state == "success"
        assert [ebs_encrypted(a, r) for a, r in EBS_TARGETS] == [
            (a, r) == (DEV_WEB_1, "eu-west-1") for a, r in EBS_TARGETS
        ]

        committed = run_dag("starfleet_ebs_encryption_ship", conf={"commit": True})
        state = {(a, r): ebs_encrypted(a, r) for a, r in EBS_TARGETS}

    assert committed.state == "success"
    assert {(row["account_id"], row["region"]) for row in committed.report["rows"]} == set(EBS_TARGETS)
    assert state == {(a, r): (a, r) != (DEV_WEB_1, "eu-west-1") for a, r in EBS_TARGETS}
    # Enabling alerts SUCCESS (below the IMPORTANT threshold); disabling alerts IMPORTANT: one post.
    assert fake_slack.texts() == ["📣  EBS encryption by default is now False"]
    assert fake_slack.posts[0].channel == "C0EBS"


def test_single_invocation_ship_reads_its_secret_through_the_connection_and_the_index(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    starfleet_deployment(deployment, monkeypatch)
    with mock_aws():
        aws_world()
        dry = run_dag("starfleet_account_census_ship")
        s3 = boto3.client("s3", region_name="us-east-1")
        assert dry.state == "success" and s3.list_objects_v2(Bucket="census-bucket").get("KeyCount") == 0
        committed = run_dag("starfleet_account_census_ship", conf={"commit": True})
        stored = s3.get_object(Bucket="census-bucket", Key="census.json")
        body = stored["Body"].read()

    assert committed.state == "success"
    census = json.loads(body)
    assert census["organisation"] == "Sample Org"
    assert census["accounts"] == sorted(INDEX.name_of(a) for a in INDEX.all_ids())  # ACTIVE ones: ours
    assert census["org_roots"] == ["111111111111"]
    assert stored["Metadata"]["signature"] == hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()


# -- SQS delivery, then the Lambda side -----------------------------------------------------------------------------


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        records.extend({"messageId": m["MessageId"], "body": m["Body"]} for m in batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return records


def lambda_environment(monkeypatch: pytest.MonkeyPatch, deployment: Deployment, ship: str, commit: bool) -> None:
    from starfleet_airflow.lambda_worker import handler, starfleet_entry

    monkeypatch.setattr(handler, "_LOADED", {})
    monkeypatch.setattr(starfleet_entry, "_HANDLERS", {})
    monkeypatch.setenv("STARFLEET_SHIP", ship)
    monkeypatch.setenv("STARFLEET_COMMIT", "true" if commit else "false")
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(deployment.config_dir))


def test_sqs_messages_run_through_our_handler_and_the_ships_own_worker_lambda(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    from starfleet_airflow.lambda_worker.handler import handler
    from starfleet_airflow.lambda_worker.starfleet_entry import handler as starfleet_entry

    with mock_aws():
        aws_world()
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="password-policy")["QueueUrl"]
        starfleet_deployment(deployment, monkeypatch, fake_slack, inline=False, queue_url=queue_url)
        assert run_dag("starfleet_password_policy_ship").state == "success"
        records = drain(sqs, queue_url)
        assert sorted(json.loads(r["body"])["StarbaseAssignedAccount"] for r in records) == PASSWORD_ACCOUNTS

        lambda_environment(monkeypatch, deployment, "PasswordPolicyShip", commit=False)
        assert handler({"Records": records}) == {"batchItemFailures": []}
        assert all(password_policy(account) is None for account in PASSWORD_ACCOUNTS)

        lambda_environment(monkeypatch, deployment, "PasswordPolicyShip", commit=True)
        first, rest = records[:3], records[3:]
        assert handler({"Records": first}) == {"batchItemFailures": []}
        monkeypatch.setenv(
            "STARFLEET_WORKER_LAMBDA", "starfleet.worker_ships.plugins.password_policy.ship:lambda_handler"
        )
        assert starfleet_entry({"Records": rest}, None) is None  # the ship's own @worker_lambda handler
        policies = {account: password_policy(account) for account in PASSWORD_ACCOUNTS}

    assert policies == dict.fromkeys(PASSWORD_ACCOUNTS, DESIRED_POLICY)
    assert len(fake_slack.posts) == len(PASSWORD_ACCOUNTS)  # one SUCCESS alert per committed change, both paths


# -- the CLI: our run command and the ships' own click commands -----------------------------------------------------


def test_cli_runs_ships_dry_and_with_commit(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    from starfleet_airflow.tools.cli.main import main

    starfleet_deployment(deployment, monkeypatch, fake_slack)
    payload = tmp_path / "ebs.yaml"
    payload.write_text(EBS_TEMPLATE)
    account = next(iter(INDEX.by_names(["prod-web-1"])))
    ebs = ["starfleet", "ebs-encryption", "sync", "--payload", str(payload), "--account-id", account]
    with mock_aws():
        aws_world()
        assert main(["run", "PasswordPolicyShip", "--template", "strong", "--account", "prod-web-1"]) == 0
        assert password_policy(account) is None
        assert main(["run", "PasswordPolicyShip", "--template", "strong", "--account", "prod-web-1", "--commit"]) == 0
        assert password_policy(account) == DESIRED_POLICY

        assert main([*ebs, "--region", "eu-west-1"]) == 0
        assert ebs_encrypted(account, "eu-west-1") is False
        assert main([*ebs, "--region", "eu-west-1", "--commit"]) == 0
        assert ebs_encrypted(account, "eu-west-1") is True
        assert ebs_encrypted(account, "us-east-1") is False  # only the region asked for
        # A target the template does not select: Starfleet's refusal, nothing done.
        assert main([*ebs, "--region", "ap-southeast-2", "--commit"]) == 1
        assert ebs_encrypted(account, "ap-southeast-2") is False

        census = tmp_path / "census.yaml"
        census.write_text(yaml.safe_dump(CENSUS_TEMPLATE))
        assert main(["starfleet", "account-census", "write", "--payload", str(census), "--commit"]) == 0
        written = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="census-bucket")["KeyCount"]

    assert written == 1
    assert fake_slack.posts == [], "the CLI sends no alerts, as Starfleet's does not"


def test_account_region_and_single_ships_through_the_lambda_handlers(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    from starfleet_airflow.lambda_worker.handler import handler
    from starfleet_airflow.lambda_worker.starfleet_entry import handler as starfleet_entry

    starfleet_deployment(deployment, monkeypatch, fake_slack)
    template = yaml.safe_load(EBS_TEMPLATE)
    records = [
        {
            "messageId": f"m-{i}",
            "body": json.dumps({**template, "StarbaseAssignedAccount": a, "StarbaseAssignedRegion": r}),
        }
        for i, (a, r) in enumerate(EBS_TARGETS)
    ]
    with mock_aws():
        aws_world()
        lambda_environment(monkeypatch, deployment, "EbsEncryptionShip", commit=False)
        assert handler({"Records": records}) == {"batchItemFailures": []}
        dry = [ebs_encrypted(a, r) for a, r in EBS_TARGETS]
        lambda_environment(monkeypatch, deployment, "EbsEncryptionShip", commit=True)
        monkeypatch.setenv(
            "STARFLEET_WORKER_LAMBDA", "starfleet.worker_ships.plugins.ebs_encryption.ship.lambda_handler"
        )
        assert starfleet_entry({"Records": records}, None) is None
        committed = {(a, r): ebs_encrypted(a, r) for a, r in EBS_TARGETS}

        lambda_environment(monkeypatch, deployment, "AccountCensusShip", commit=True)
        assert handler({"Records": [{"messageId": "census", "body": json.dumps(CENSUS_TEMPLATE)}]}) == {
            "batchItemFailures": []
        }
        census = json.loads(
            boto3.client("s3", region_name="us-east-1")
            .get_object(Bucket="census-bucket", Key="census.json")["Body"]
            .read()
        )

    assert dry == [False] * len(EBS_TARGETS)
    assert committed == {(a, r): (a, r) != (DEV_WEB_1, "eu-west-1") for a, r in EBS_TARGETS}
    assert census["accounts"] == sorted(INDEX.name_of(a) for a in INDEX.all_ids())
    assert fake_slack.texts() == [], "enabling alerts SUCCESS, below the EBS ship's IMPORTANT threshold"


def test_a_template_the_ship_refuses_is_named_key_by_key_on_the_command_line(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from starfleet_airflow.tools.cli.main import main

    starfleet_deployment(deployment, monkeypatch)
    payload = tmp_path / "bad.yaml"
    payload.write_text(PASSWORD_TEMPLATE.replace("MinimumPasswordLength: 16", "MinimumPasswordLength: 2"))
    code = main(
        ["starfleet", "password-policy", "sync", "--payload", str(payload), "--account-id", PASSWORD_ACCOUNTS[0]]
    )
    assert code == 1
    assert "--payload: MinimumPasswordLength: Must be greater than or equal to 6 and less than or equal to 128." in (
        capsys.readouterr().err
    )


def test_un_wrap_json_decodes_what_aws_returns_as_strings() -> None:
    from starfleet_airflow.starfleet_compat.niceties import un_wrap_json

    policy = '{"Statement": [{"Effect": "Allow", "Action": ["s3:Put*", "s3:Get*"]}]}'
    wrapped = {
        "PolicyDocument": policy.replace('"', "%22").replace(" ", "%20"),
        "When": datetime.date(2024, 1, 2),
    }
    assert un_wrap_json(wrapped) == {
        "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:Put*"]}]},
        "When": "2024-01-02",
    }
