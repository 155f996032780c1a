"""AccountIndexGeneratorShip: build the organisation's account index from AWS Organizations.

Every other ship's targets come from this index, so it is written in exactly Starfleet's format::

    {"accounts": {"<id>": {"Id", "Arn", "Email", "Name", "Status", "JoinedMethod",
                           "JoinedTimestamp" (str), "Parents", "Regions" (sorted), "Tags"}},
     "generated": "2026-11-01T00:00:00Z"}

What differs from Starfleet, on purpose:

* ``Parents`` is the full chain, the account's OU first and ``{"Id": <root>, "Type": "ROOT", "Name":
  "ROOT"}`` last (Starfleet listed the immediate parent only, so a template naming a parent OU missed
  accounts in nested OUs). The OU tree is walked once instead of asking per account.
* Accounts that are not ACTIVE get ``Regions: []`` without a role being assumed in them (a suspended
  account cannot be entered; the loader skips such accounts anyway).
* ``Status`` is derived from ``State`` when Organizations no longer returns it.
* Where it writes. With ``AccountInventoryBucket`` in the payload: ``s3://bucket/InventoryObjectPrefix``,
  as Starfleet. Without: the location the orchestrator reads the index from. An ``s3://`` or absolute
  ``STARFLEET.AccountIndexLocation`` is used as is; a relative one (resolved against the folder that
  holds ``config/``) or Starfleet's ``StarfleetDefaultAccountIndex`` section is taken from the loaded
  configuration folder (``starfleet_airflow.core.config.STARFLEET_CONFIGURATION``), because the ship is
  handed the ``STARFLEET`` section only, without that folder.
* Regions are read concurrently (``LookupConcurrency`` threads, default 16) and every AWS call retries
  throttling with botocore's standard retry mode (``ApiMaxAttempts``). A failure in any account fails
  the run and names the accounts: a partial index would silently drop targets from every ship.

Nothing is written without ``commit``; a dry run logs the summary that ``execute`` also returns.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from botocore.config import Config

from ships.account_index_generator.organization import (
    OrgTree,
    account_status,
    account_tags,
    chain_by_list_parents,
    executor_runner,
    find_root_id,
    list_accounts,
    walk_tree,
)
from ships.account_index_generator.regions import RegionReader
from ships.account_index_generator.schemas import (
    AccountIndexGeneratorShipConfigurationTemplate,
    AccountIndexGeneratorShipPayloadTemplate,
)
from starfleet_airflow import (
    S3_SCHEME,
    FanOutStrategy,
    Location,
    LocationError,
    StarfleetWorkerShip,
    assume_role_session,
    parse_location,
    write_bytes,
)

log = logging.getLogger(__name__)

ACTIVE = "ACTIVE"
ACCOUNT_KEYS = ("Id", "Arn", "Email", "Name", "Status", "JoinedMethod", "JoinedTimestamp")
MAX_LISTED_FAILURES = 10


class AccountIndexGenerationError(Exception):
    """The index could not be built or written; nothing was written. The message names the accounts."""


def generated_timestamp(now: datetime | None = None) -> str:
    """Starfleet's ``generated`` format: UTC, whole seconds, ``Z`` suffix."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def joined_timestamp(value: Any) -> str:
    """``str()`` of the timestamp, as Starfleet writes it, normalised to UTC so it never depends on TZ."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return str(value)
    return str(value)


def summarise(index: dict[str, Any], org_unit_count: int) -> dict[str, Any]:
    """A small JSON-able picture of an index: counts, and how regions are spread over accounts."""
    accounts = index["accounts"].values()
    active = [a for a in accounts if a["Status"] == ACTIVE]
    per_region: Counter[str] = Counter(r for a in active for r in a["Regions"])
    region_counts: Counter[int] = Counter(len(a["Regions"]) for a in active)
    return {
        "accounts": len(index["accounts"]),
        "active_accounts": len(active),
        "org_units": org_unit_count,
        "accounts_per_region": dict(sorted(per_region.items())),
        "regions_per_account": {str(n): count for n, count in sorted(region_counts.items())},
        "generated": index["generated"],
    }


class AccountIndexGeneratorShip(StarfleetWorkerShip):
    """Writes the organisation's account index (accounts, OU chains, tags, enabled regions)."""

    fan_out_strategy: ClassVar[FanOutStrategy] = FanOutStrategy.SINGLE_INVOCATION
    payload_template_class = AccountIndexGeneratorShipPayloadTemplate
    configuration_template_class = AccountIndexGeneratorShipConfigurationTemplate

    index: dict[str, Any] | None = None

    # -- where -------------------------------------------------------------------------------------

    def destination(self) -> Location:
        """Where the index goes (see the module docstring); raises AccountIndexGenerationError if nowhere."""
        bucket = self.payload.get("account_inventory_bucket")
        if bucket:
            return Location(bucket, self.payload["inventory_object_prefix"])
        text = self.starfleet_configuration.get("account_index_location")
        if text and (text.startswith(S3_SCHEME) or Path(text).expanduser().is_absolute()):
            try:
                return parse_location(text)
            except LocationError as exc:
                raise AccountIndexGenerationError(f"STARFLEET.AccountIndexLocation: {exc}") from exc
        from starfleet_airflow import STARFLEET_CONFIGURATION

        try:
            configuration = STARFLEET_CONFIGURATION.configuration
        except Exception as exc:
            raise AccountIndexGenerationError(
                "the payload names no AccountInventoryBucket and the configuration folder that defines the"
                f" account index location could not be loaded: {exc}"
            ) from exc
        if configuration.starfleet.get("account_index_location") != text:
            raise AccountIndexGenerationError(
                f"the loaded configuration folder {configuration.config_dir} says AccountIndexLocation"
                f" {configuration.starfleet.get('account_index_location')!r}, this ship was given {text!r};"
                " set AccountInventoryBucket in the payload or an absolute/s3:// AccountIndexLocation"
            )
        if configuration.account_index_location is None:
            raise AccountIndexGenerationError(
                "no AccountInventoryBucket in the payload and no account index location in STARFLEET;"
                " expected one of them"
            )
        return configuration.account_index_location

    def _region(self) -> str:
        return str(self.starfleet_configuration.get("deployment_region") or self.aws_session.region_name or "us-east-1")

    # -- reading -----------------------------------------------------------------------------------

    def build_index(self) -> tuple[dict[str, Any], OrgTree]:
        """Read the organisation and return the index (Starfleet's format) and the OU tree."""
        config = self.configuration
        region = self._region()
        concurrency = int(config.get("lookup_concurrency", 16))
        botocore_config = Config(
            retries={"mode": "standard", "max_attempts": int(config.get("api_max_attempts", 10))},
            max_pool_connections=max(10, concurrency),
        )
        started = time.monotonic()
        log.info(
            "[%s] reading AWS Organizations in %s as %s",
            self.worker_ship_name,
            config["org_account_id"],
            config["org_account_assume_role"],
        )
        try:
            org_session = assume_role_session(
                self.aws_session,
                config["org_account_id"],
                config["org_account_assume_role"],
                region=region,
                session_name=self.worker_ship_name,
            )
        except Exception as exc:
            raise AccountIndexGenerationError(
                f"AssumeRole {config['org_account_assume_role']} in the organisation account"
                f" {config['org_account_id']} (OrgAccountAssumeRole/OrgAccountId): {exc}"
            ) from exc
        org = org_session.client("organizations", region_name=region, config=botocore_config)
        reader = RegionReader(
            self.aws_session,
            config["describe_regions_assume_role"],
            region=region,
            session_name=self.worker_ship_name,
            botocore_config=botocore_config,
        )
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="account-index") as pool:
            listed = list_accounts(org)
            root_id = config.get("org_root_id") or find_root_id(org)
            tree = walk_tree(org, root_id, executor_runner(pool))
            log.info(
                "[%s] %d accounts, %d OUs under %s (%.1fs); fetching tags and regions with %d threads",
                self.worker_ship_name,
                len(listed),
                tree.org_unit_count,
                root_id,
                time.monotonic() - started,
                concurrency,
            )
            tags: dict[str, Future[dict[str, str]]] = {}
            regions: dict[str, Future[list[str]]] = {}
            for account in listed:
                tags[account["Id"]] = pool.submit(account_tags, org, account["Id"])
                if account_status(account) == ACTIVE:
                    regions[account["Id"]] = pool.submit(reader.enabled_regions, account["Id"])
            results_tags, tag_failures = _gather(tags)
            results_regions, region_failures = _gather(regions)
        role = config["describe_regions_assume_role"]
        _raise_for_failures(
            [f"ListTagsForResource {failure}" for failure in tag_failures]
            + [f"AssumeRole {role} + DescribeRegions in {failure}" for failure in region_failures]
        )

        accounts: dict[str, dict[str, Any]] = {}
        for account in listed:
            account_id = account["Id"]
            entry = {key: account.get(key) for key in ACCOUNT_KEYS}
            entry["Status"] = account_status(account)
            entry["JoinedTimestamp"] = joined_timestamp(account.get("JoinedTimestamp"))
            parents = tree.parents_of(account_id)
            if parents is None:
                log.warning(
                    "[%s] %s was not under %s during the walk; asking ListParents",
                    self.worker_ship_name,
                    account_id,
                    root_id,
                )
                parents = chain_by_list_parents(org, account_id, tree)
            entry["Parents"] = parents
            entry["Regions"] = results_regions.get(account_id, [])
            entry["Tags"] = results_tags[account_id]
            accounts[account_id] = entry
        log.info("[%s] index built in %.1fs", self.worker_ship_name, time.monotonic() - started)
        return {"accounts": accounts, "generated": generated_timestamp()}, tree

    # -- the job -----------------------------------------------------------------------------------

    def execute(self, commit: bool = False) -> dict[str, Any]:
        """Build the index; write it only with ``commit``. Returns the summary (and where it went)."""
        destination = self.destination()
        index, tree = self.build_index()
        self.index = index
        summary = summarise(index, tree.org_unit_count)
        summary["destination"] = str(destination)
        summary["written"] = False
        if not commit:
            log.warning("[%s] dry run (commit is off): not writing %s", self.worker_ship_name, destination)
            log.info("[%s] summary: %s", self.worker_ship_name, json.dumps(summary, sort_keys=True))
            log.debug("[%s] index: %s", self.worker_ship_name, json.dumps(index))
            return summary
        self._write(destination, json.dumps(index, indent=4).encode())
        summary["written"] = True
        log.info(
            "[%s] wrote %d accounts to %s: %s",
            self.worker_ship_name,
            summary["accounts"],
            destination,
            json.dumps(summary, sort_keys=True),
        )
        return summary

    def _write(self, destination: Location, body: bytes) -> None:
        """S3 as Starfleet writes it (JSON content type, bucket owner gets full control), or a local file."""
        if not destination.is_s3:
            try:
                write_bytes(destination, body)
            except (LocationError, OSError) as exc:
                raise AccountIndexGenerationError(f"{destination}: cannot write ({exc})") from exc
            return
        region = self.payload.get("inventory_bucket_region") or self._region()
        s3 = self.aws_session.client("s3", region_name=region)
        try:
            s3.put_object(
                Bucket=destination.bucket,
                Key=destination.key,
                Body=body,
                ContentType="application/json",
                ACL="bucket-owner-full-control",
            )
        except Exception as exc:  # botocore's ClientError and connection errors alike
            raise AccountIndexGenerationError(f"{destination}: cannot write ({exc})") from exc


def _gather(futures: dict[str, Future[Any]]) -> tuple[dict[str, Any], list[str]]:
    """Wait for every account's result: the results, and one ``<account>: <error>`` line per failure."""
    results: dict[str, Any] = {}
    failures: list[str] = []
    for account_id, future in futures.items():
        try:
            results[account_id] = future.result()
        except Exception as exc:
            failures.append(f"{account_id}: {type(exc).__name__}: {exc}")
    return results, failures


def _raise_for_failures(problems: list[str]) -> None:
    """One error naming every failed lookup (the first few in full): nothing is written after it."""
    if not problems:
        return
    shown = "; ".join(problems[:MAX_LISTED_FAILURES])
    more = f" (and {len(problems) - MAX_LISTED_FAILURES} more)" if len(problems) > MAX_LISTED_FAILURES else ""
    lookups = "account lookup failed" if len(problems) == 1 else "account lookups failed"
    raise AccountIndexGenerationError(f"{len(problems)} {lookups}: {shown}{more}")
