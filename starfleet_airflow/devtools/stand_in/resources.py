"""What the stand-in must hold for a configuration: worker queues, roles, buckets, uploaded templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starfleet_airflow.devtools.stand_in.org_model import ORG_READER_ROLE, WORKER_ROLE
from starfleet_airflow.devtools.stand_in.ports import DemoError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.core.config import Configuration
    from starfleet_airflow.core.registry import ShipRegistry

GENERATOR_SHIP = "AccountIndexGeneratorShip"
WORKER_ROLE_KEYS = ("WorkerRoleToAssume", "DescribeRegionsAssumeRole")


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
    from starfleet_airflow.core.enums import DeliveryMode

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
