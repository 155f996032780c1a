"""The demo's local AWS stand-in: a moto server in this process, seeded from the configuration.

Why in this process: per-account enabled regions can only be given to moto's backends from the
process that holds them (see ``org_seeding``), and a fresh process means a fresh AWS every demo run, so
the demo can be run again and again without "already exists" errors.

What is created comes from the configuration, so the stand-in fits whatever ``config/`` says:

* the organisation (``org_seeding.seed_organisation``) with the roles the ships' sections name
  (``OrgAccountAssumeRole``, ``DescribeRegionsAssumeRole``, ``WorkerRoleToAssume``);
* one SQS queue per ship delivering to SQS (the queue named in its ``InvocationQueueUrl``), and the
  template events queue when ``STARFLEET.TemplateEventsQueueUrl`` is set;
* the S3 buckets of S3 locations in ``STARFLEET`` (templates, account index, snapshots); S3-hosted
  templates are uploaded from the local template folder next to ``config/``;
* the AWS-managed IAM policies the templates attach (``managed_policies``).

s3-control and the stand-in. Real S3 Control endpoints carry the account id in the host name
(``<account>.s3-control.<region>.amazonaws.com``), and botocore builds ``http://<account>.127.0.0.1:5000``
from a custom endpoint, a name no resolver knows. The demo therefore sends plain-HTTP AWS calls
through the stand-in used as an HTTP proxy (``ports.proxy_environment``): the request line then carries
the whole URL, moto serves it, and no name has to resolve. Nothing else changes for the ships.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starfleet_airflow.devtools.stand_in.managed_policies import add_aws_managed_policies, policies_named_in
from starfleet_airflow.devtools.stand_in.org_model import OrgFixture
from starfleet_airflow.devtools.stand_in.org_seeding import seed_organisation
from starfleet_airflow.devtools.stand_in.ports import DemoError, ensure_port_free, proxy_environment
from starfleet_airflow.devtools.stand_in.resources import (
    GENERATOR_SHIP,
    WorkerQueue,
    roles_from,
    s3_buckets,
    upload_templates,
    worker_queues,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.core.config import Configuration
    from starfleet_airflow.core.registry import ShipRegistry

STAND_IN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class StandIn:
    """A seeded moto server; ``stop()`` ends it (and with it every bit of its state)."""

    server: Any
    endpoint: str
    region: str
    fixture: OrgFixture
    queues: dict[str, WorkerQueue] = field(default_factory=dict)  # created queue URL -> configured queue
    buckets: dict[str, str] = field(default_factory=dict)
    uploaded_templates: int = 0
    managed_policies: list[str] = field(default_factory=list)

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client on the stand-in, with its fake credentials (never the environment's)."""
        import boto3
        from botocore.config import Config

        session = boto3.Session(region_name=self.region, **STAND_IN_CREDENTIALS)
        return session.client(
            service, endpoint_url=self.endpoint, config=Config(proxies={"http": self.endpoint}, **config)
        )

    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Queue name -> visible and in-flight message counts, as SQS reports them."""
        sqs = self.client("sqs")
        depths = {}
        for url, queue in self.queues.items():
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            depths[queue.name] = {
                "visible": int(attributes["ApproximateNumberOfMessages"]),
                "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            }
        return depths

    def peek(self, queue_name: str) -> dict[str, Any] | None:
        """One message of the queue (body and attributes), left visible for the next reader."""
        sqs = self.client("sqs")
        url = next((u for u, q in self.queues.items() if q.name == queue_name), None)
        if url is None:
            return None
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return None
        message = messages[0]
        attributes = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
        return {"body": message["Body"], "attributes": attributes}

    def stop(self) -> None:
        self.server.stop()


def _create_queues(stand_in: StandIn, queues: Iterable[WorkerQueue]) -> None:
    sqs = stand_in.client("sqs")
    for queue in queues:
        attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if queue.fifo else {}
        url = sqs.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
        stand_in.queues[url] = queue


def _create_buckets(stand_in: StandIn, configuration: Configuration) -> None:
    s3 = stand_in.client("s3")
    for bucket, setting in s3_buckets(configuration).items():
        extra = (
            {}
            if stand_in.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": stand_in.region}}
        )
        s3.create_bucket(Bucket=bucket, **extra)
        stand_in.buckets[bucket] = setting
    location = configuration.template_location
    if location is not None and location.is_s3:
        stand_in.uploaded_templates = upload_templates(s3, configuration.base_dir / "templates", location)


def _start_moto(host: str, port: int) -> tuple[Any, str]:
    """A moto server in this process with empty backends; returns it and its endpoint."""
    import requests
    from moto.server import ThreadedMotoServer

    ensure_port_free(host, port)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    # The backends belong to this process: empty them, whatever ran here before (tests use mock_aws).
    response = requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    if response.status_code != 200:
        server.stop()
        raise DemoError(f"{endpoint}/moto-api/reset: HTTP {response.status_code}; expected moto to reset its state")
    return server, endpoint


def start_stand_in(
    configuration: Configuration,
    registry: ShipRegistry,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    n_accounts: int = 60,
    seed: int = 0,
) -> StandIn:
    """Start moto on ``host:port`` in this process, seed it from the configuration, return it running.

    Run it with ``proxy_environment(endpoint)`` in ``os.environ`` (``environment(...)``), so that a
    developer's own HTTP proxy never sees the stand-in's traffic.
    """
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    region = configuration.starfleet.get("deployment_region") or "us-east-1"
    roles = roles_from(configuration)
    server, endpoint = _start_moto(host, port)
    try:
        fixture = seed_organisation(
            boto3.Session(region_name=region, **STAND_IN_CREDENTIALS),
            endpoint_url=endpoint,
            n_accounts=n_accounts,
            seed=seed,
            org_reader_role=roles.org_reader,
            worker_role=roles.worker,
            other_worker_roles=roles.others,
            lookup_regions=(region,),
        )
        stand_in = StandIn(server, endpoint, region, fixture)
        if roles.org_account_id and roles.org_account_id != fixture.management_account_id:
            section_file = configuration.section_files.get(GENERATOR_SHIP)
            raise DemoError(
                f"{section_file}: {GENERATOR_SHIP}.OrgAccountId is {roles.org_account_id}, but the stand-in's"
                f" organisation is managed by {fixture.management_account_id} (moto's default account);"
                " expected them to be equal"
            )
        _create_queues(stand_in, worker_queues(configuration, registry))
        _create_buckets(stand_in, configuration)
        location = configuration.template_location
        templates = configuration.base_dir / "templates" if location is None or location.is_s3 else Path(str(location))
        stand_in.managed_policies = add_aws_managed_policies(policies_named_in(templates), fixture.accounts)
    except BaseException:
        server.stop()
        raise
    return stand_in


@contextmanager
def environment(overrides: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block; restore them afterwards."""
    saved = {name: os.environ.get(name) for name in overrides}
    try:
        for name, value in overrides.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stand_in_process_environment(endpoint: str) -> dict[str, str | None]:
    """This process's own AWS traffic (seeding, read-backs) goes to the stand-in, through no other proxy."""
    return {
        **proxy_environment(endpoint),
        "HTTPS_PROXY": None,
        "https_proxy": None,
        "ALL_PROXY": None,
        "all_proxy": None,
        "MOTO_EC2_LOAD_DEFAULT_AMIS": os.environ.get("MOTO_EC2_LOAD_DEFAULT_AMIS", "false"),
    }


def public_access_blocks(stand_in: StandIn, account_ids: Iterable[str], role: str) -> dict[str, Mapping[str, bool]]:
    """Account -> its account-level S3 Block Public Access settings ({} when none), read as a ship would.

    Each account is entered through ``role`` (STS AssumeRole), because s3-control answers for the
    caller's own account only. One boto3 session makes every client, so the service models load once.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    session = boto3.Session(region_name=stand_in.region, **STAND_IN_CREDENTIALS)
    config = Config(proxies={"http": stand_in.endpoint})
    sts = session.client("sts", endpoint_url=stand_in.endpoint, config=config)
    found: dict[str, Mapping[str, bool]] = {}
    for account_id in sorted(account_ids):
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="starfleet-demo-check"
        )["Credentials"]
        client = session.client(
            "s3control",
            endpoint_url=stand_in.endpoint,
            config=config,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        try:
            found[account_id] = client.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchPublicAccessBlockConfiguration":
                raise
            found[account_id] = {}
    return found
