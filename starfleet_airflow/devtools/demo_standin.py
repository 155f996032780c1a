"""The demo's local AWS stand-in: a moto server in this process, seeded from the configuration.

Why in this process: per-account enabled regions can only be given to moto's backends from the
process that holds them (see ``moto_org``), and a fresh process means a fresh AWS every demo run, so
the demo can be run again and again without "already exists" errors.

What is created comes from the configuration, so the stand-in fits whatever ``config/`` says:

* the organisation (``moto_org.seed_organisation``) with the roles the ships' sections name
  (``OrgAccountAssumeRole``, ``DescribeRegionsAssumeRole``, ``WorkerRoleToAssume``);
* one SQS queue per ship delivering to SQS (the queue named in its ``InvocationQueueUrl``), and the
  template events queue when ``STARFLEET.TemplateEventsQueueUrl`` is set;
* the S3 buckets of S3 locations in ``STARFLEET`` (templates, account index, snapshots); S3-hosted
  templates are uploaded from the local template folder next to ``config/``.

s3-control and the stand-in. Real S3 Control endpoints carry the account id in the host name
(``<account>.s3-control.<region>.amazonaws.com``), and botocore builds ``http://<account>.127.0.0.1:5000``
from a custom endpoint, a name no resolver knows. The demo therefore sends plain-HTTP AWS calls
through the stand-in used as an HTTP proxy (``proxy_environment``): the request line then carries
the whole URL, moto serves it, and no name has to resolve. Nothing else changes for the ships.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starfleet_airflow.devtools.moto_org import ORG_READER_ROLE, WORKER_ROLE, OrgFixture, seed_organisation

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.config import Configuration
    from starfleet_airflow.registry import ShipRegistry

STAND_IN_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
GENERATOR_SHIP = "AccountIndexGeneratorShip"
WORKER_ROLE_KEYS = ("WorkerRoleToAssume", "DescribeRegionsAssumeRole")
# s3-control's account-prefixed host names need the proxy route (module docstring); these must not.
NO_PROXY_HOSTS = "localhost"


class DemoError(Exception):
    """The demo cannot go on; the message says what happened and what to do about it."""


# --------------------------------------------------------------------------------------------------
# The port
# --------------------------------------------------------------------------------------------------


def _answers_as_moto(host: str, port: int) -> bool:
    """True when an HTTP server on ``host:port`` answers moto's own API."""
    import requests

    try:
        response = requests.get(f"http://{host}:{port}/moto-api/data.json", timeout=2, proxies={})
    except requests.RequestException:
        return False
    if response.status_code != 200:
        return False
    try:
        return isinstance(response.json(), dict)  # moto's backend data as JSON ({} when empty)
    except ValueError:
        return False


def _listening_processes(port: int) -> list[str]:
    """``pid <n>: <command line>`` of the processes listening on ``port``, as far as we may see them."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with Airflow
        return []
    found: list[str] = []
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return []
    for connection in connections:
        if connection.status != psutil.CONN_LISTEN or not connection.laddr or connection.laddr.port != port:
            continue
        if connection.pid is None:
            found.append("a process of another user (pid hidden)")
            continue
        try:
            command = " ".join(psutil.Process(connection.pid).cmdline()) or "?"
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            command = "?"
        found.append(f"pid {connection.pid}: {command[:200]}")
    return sorted(set(found))


def describe_port_holder(host: str, port: int) -> str:
    """What holds the port, and how to free it (or avoid it), in a few lines."""
    holders = _listening_processes(port)
    lines = [f"{host}:{port} is already in use, so the AWS stand-in cannot start there."]
    if holders:
        lines.append("Listening there: " + "; ".join(holders))
    else:
        lines.append(f"Find the process with: lsof -nP -iTCP:{port} -sTCP:LISTEN   (or: ss -ltnp 'sport = :{port}')")
    if _answers_as_moto(host, port):
        lines.append(
            "It answers as a moto server: probably an earlier `scripts/demo.sh --serve` or"
            " `python -m starfleet_airflow.devtools.moto_org`; stop it (Ctrl-C in its terminal, or kill its pid)."
        )
    else:
        lines.append(
            "Stop that process, or run the demo on another port: scripts/demo.sh --port 5055"
            " (on macOS, port 5000 is often the AirPlay Receiver: System Settings > General > AirDrop & Handoff)."
        )
    return "\n".join(lines)


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``DemoError`` (saying what holds it) when ``host:port`` cannot be bound.

    moto's ``ThreadedMotoServer.start`` waits forever when its thread cannot bind, so this is checked
    first.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise DemoError(describe_port_holder(host, port)) from exc
        raise DemoError(f"{host}:{port}: cannot listen there ({exc})") from exc
    finally:
        probe.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port the system has just handed out (for tests and for ``--port 0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def proxy_environment(endpoint: str) -> dict[str, str]:
    """The variables that route plain-HTTP AWS calls through the stand-in (see the module docstring).

    Both spellings are set: lower case wins in most clients, and a developer's own proxy settings
    must not send stand-in traffic elsewhere.
    """
    return {
        "HTTP_PROXY": endpoint,
        "http_proxy": endpoint,
        "NO_PROXY": NO_PROXY_HOSTS,
        "no_proxy": NO_PROXY_HOSTS,
    }


# --------------------------------------------------------------------------------------------------
# What the configuration needs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerQueue:
    """A queue the configuration names, and the ship (or STARFLEET key) that names it."""

    owner: str
    url: str

    @property
    def name(self) -> str:
        return urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def account_id(self) -> str | None:
        parts = [part for part in urlsplit(self.url).path.split("/") if part]
        return parts[0] if len(parts) == 2 and parts[0].isdigit() else None

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass(frozen=True)
class Roles:
    """Role names to create in the seeded organisation, from the ships' sections."""

    org_reader: str = ORG_READER_ROLE
    worker: str = WORKER_ROLE
    others: tuple[str, ...] = ()
    org_account_id: str | None = None


def worker_queues(configuration: Configuration, registry: ShipRegistry) -> list[WorkerQueue]:
    """Queues of every enabled ship that delivers to SQS, plus the template events queue if configured."""
    from starfleet_airflow.ship import DeliveryMode

    queues = []
    for name, loaded in sorted(registry.ships.items()):
        url = loaded.configuration.get("invocation_queue_url")
        if loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS and url:
            queues.append(WorkerQueue(name, url))
    events_url = configuration.starfleet.get("template_events_queue_url")
    if events_url:
        queues.append(WorkerQueue("STARFLEET.TemplateEventsQueueUrl", events_url))
    return queues


def roles_from(configuration: Configuration) -> Roles:
    """The roles the sections name; the generator's ``OrgAccountAssumeRole`` is the organisation reader."""
    generator = configuration.section(GENERATOR_SHIP) or {}
    worker_roles: list[str] = []
    for name, section in sorted(configuration.raw.items()):
        if not isinstance(section, dict) or name == "STARFLEET":
            continue
        for key in WORKER_ROLE_KEYS:
            value = section.get(key)
            if isinstance(value, str) and value and value not in worker_roles:
                worker_roles.append(value)
    worker = generator.get("DescribeRegionsAssumeRole") or (worker_roles[0] if worker_roles else WORKER_ROLE)
    return Roles(
        org_reader=generator.get("OrgAccountAssumeRole") or ORG_READER_ROLE,
        worker=worker,
        others=tuple(role for role in worker_roles if role != worker),
        org_account_id=str(generator["OrgAccountId"]) if generator.get("OrgAccountId") else None,
    )


def s3_buckets(configuration: Configuration) -> dict[str, str]:
    """Bucket -> the STARFLEET setting that needs it, for every S3 location of the configuration."""
    buckets: dict[str, str] = {}
    for setting, location in (
        ("TemplateLocation", configuration.template_location),
        ("AccountIndexLocation", configuration.account_index_location),
        ("SnapshotLocation", configuration.snapshot_location),
    ):
        if location is not None and location.is_s3 and location.bucket not in buckets:
            buckets[str(location.bucket)] = setting
    return buckets


# --------------------------------------------------------------------------------------------------
# The running stand-in
# --------------------------------------------------------------------------------------------------


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


def upload_templates(s3: Any, folder: Path, location: Any) -> int:
    """Upload every ``.yaml`` file of the local template folder under the S3 template location."""
    if not folder.is_dir():
        raise DemoError(
            f"{folder}: no local template folder to upload to {location} (TemplateLocation is S3 in the configuration)"
        )
    count = 0
    for path in sorted(folder.rglob("*.yaml")):
        key = location.child(path.relative_to(folder).as_posix()).key
        s3.put_object(Bucket=location.bucket, Key=key, Body=path.read_bytes())
        count += 1
    return count


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
