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
from pathlib import Path

import boto3

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.devtools.stand_in.org_seeding import seed_organisation
from starfleet_airflow.devtools.stand_in.resources import s3_buckets, upload_templates

LOG_BUCKET = "starfleet-stack-state"


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
    seed_s3(session, endpoint, configuration)
    return 0


def seed_s3(session: boto3.Session, endpoint: str, configuration) -> None:
    """The Celery variant's configuration (stack/config) keeps everything in S3: its buckets, the templates,
    the bucket for remote task logs, and the template bucket's event notification to the events queue."""
    s3 = session.client("s3", endpoint_url=endpoint)
    buckets = dict(s3_buckets(configuration))
    if buckets:
        buckets.setdefault(LOG_BUCKET, "Airflow remote task logs")
    for bucket, setting in sorted(buckets.items()):
        s3.create_bucket(Bucket=bucket)
        print(f"bucket s3://{bucket} ({setting})")
    location = configuration.template_location
    if location is None or not location.is_s3:
        return
    count = upload_templates(s3, Path(os.environ.get("STARFLEET_TEMPLATES_DIR", "/opt/starfleet/templates")), location)
    print(f"uploaded {count} templates to {location}")
    events_url = configuration.starfleet.get("template_events_queue_url")
    if events_url:
        account, name = events_url.rstrip("/").split("/")[-2:]
        session.client("sqs", endpoint_url=endpoint).create_queue(QueueName=name)
        arn = f"arn:aws:sqs:{configuration.starfleet['deployment_region']}:{account}:{name}"
        rule = {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".yaml"}]}}
        notification = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": rule}]}
        s3.put_bucket_notification_configuration(Bucket=location.bucket, NotificationConfiguration=notification)
        print(f"s3://{location.bucket}: s3:ObjectCreated:* (.yaml) -> {arn}")


if __name__ == "__main__":
    sys.exit(main())
