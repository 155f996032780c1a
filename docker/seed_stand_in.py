"""Seed docker-compose's AWS stand-in: an organisation, and the SQS queues the configuration names.

Run by the compose service ``aws-seed`` (``docker compose run --rm aws-seed``) against the moto service,
with the stack's ``STARFLEET_CONFIG_DIR`` and ``AWS_ENDPOINT_URL``. Everything goes through the AWS APIs
(starfleet_airflow.devtools.stand_in for the organisation), so what the DAGs then read is what they would
read from a real organisation. Running it again is harmless: an existing organisation is kept and
existing queues are left as they are.

The moto server runs in another container, so every account shows moto's default regions (per-account
enabled regions need moto in the seeding process; see starfleet_airflow.devtools.stand_in.org_seeding).
"""

from __future__ import annotations

import os
import sys

import boto3

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.devtools.stand_in.org_seeding import seed_organisation


def queue_names(raw_configuration: dict) -> dict[str, str]:
    """Ship section -> queue name, for every section with an ``InvocationQueueUrl``."""
    names = {}
    for section, settings in raw_configuration.items():
        url = settings.get("InvocationQueueUrl") if isinstance(settings, dict) else None
        if url:
            names[section] = url.rstrip("/").rsplit("/", 1)[-1]
    return names


def _organisation(session: boto3.Session, endpoint: str) -> str | None:
    """The id of the stand-in's organisation, or None before it is seeded."""
    client = session.client("organizations", endpoint_url=endpoint)
    try:
        return client.describe_organization()["Organization"]["Id"]
    except client.exceptions.AWSOrganizationsNotInUseException:
        return None


def main() -> int:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("error: AWS_ENDPOINT_URL is not set; this only seeds the local AWS stand-in", file=sys.stderr)
        return 2
    configuration = load_configuration()
    configuration.raise_for_errors()
    # Stand-in credentials only: whatever else the environment holds is never used.
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=configuration.starfleet["deployment_region"],
    )
    existing = _organisation(session, endpoint)
    if existing:
        print(f"organisation {existing} already seeded: left as it is")
    else:
        fixture = seed_organisation(
            session, endpoint_url=endpoint, n_accounts=int(os.environ.get("SEED_ACCOUNTS", "60")), vary_regions=False
        )
        print(
            f"organisation {fixture.organization_id}: {len(fixture.accounts)} accounts, "
            f"{len(fixture.org_units)} OUs, management account {fixture.management_account_id}"
        )
    sqs = session.client("sqs", endpoint_url=endpoint)
    for section, name in sorted(queue_names(configuration.raw).items()):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        print(f"queue for {section}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
