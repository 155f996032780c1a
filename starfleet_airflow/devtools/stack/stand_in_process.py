"""The stack's AWS stand-in: one long-running process holding a seeded moto server.

``python -m starfleet_airflow.devtools.stack.stand_in_process --config-dir stack/config --port 5100 --ready-file F``
starts moto in this process and seeds it with the demo's code (``devtools.stand_in.server.start_stand_in``): the
demo's organisation (per-account enabled regions need moto in the seeding process), the ships' queues,
the buckets of the configuration's S3 locations with the templates uploaded. On top of that, what a
production deployment has and the demo does not need:

* the template bucket's event notification: ``s3:ObjectCreated:*`` for ``.yaml`` keys to the template
  events queue (``STARFLEET.TemplateEventsQueueUrl``), whose policy lets S3 send, so that a template put
  into the bucket reaches the triggerer's asset watcher as it would on AWS;
* the bucket for Airflow's remote task logs (``settings.STATE_BUCKET``).

When everything is in place it writes ``--ready-file`` (JSON: endpoint, organisation, queues, buckets)
and serves until SIGTERM or SIGINT. Its state lives in memory: a restarted stand-in is a fresh AWS.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starfleet_airflow.devtools.stack.processes import port_free, port_open
from starfleet_airflow.devtools.stack.settings import REGION, SEED, SEED_ACCOUNTS, STATE_BUCKET
from starfleet_airflow.devtools.stand_in.ports import DemoError
from starfleet_airflow.devtools.stand_in.resources import WorkerQueue
from starfleet_airflow.devtools.stand_in.server import (
    StandIn,
    environment,
    stand_in_process_environment,
    start_stand_in,
)

TEMPLATE_SUFFIX = ".yaml"


def queue_arn(queue: WorkerQueue, region: str) -> str:
    return f"arn:aws:sqs:{region}:{queue.account_id}:{queue.name}"


def connect_template_events(stand_in: StandIn, template_bucket: str, events: WorkerQueue) -> dict[str, Any]:
    """Let S3 send to the events queue and point the template bucket's notifications at it."""
    arn = queue_arn(events, stand_in.region)
    sqs, s3 = stand_in.client("sqs"), stand_in.client("s3")
    url = next(created for created, configured in stand_in.queues.items() if configured == events)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{template_bucket}"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    notification = {
        "QueueConfigurations": [
            {
                "Id": "starfleet-template-events",
                "QueueArn": arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": TEMPLATE_SUFFIX}]}},
            }
        ]
    }
    s3.put_bucket_notification_configuration(Bucket=template_bucket, NotificationConfiguration=notification)
    drop_test_events(sqs, url)
    return {"bucket": template_bucket, "queue_arn": arn, "events": ["s3:ObjectCreated:*"], "suffix": TEMPLATE_SUFFIX}


def drop_test_events(sqs: Any, url: str) -> int:
    """Delete the ``s3:TestEvent`` S3 sends when notifications are configured, so the stack starts empty."""
    dropped = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        if not messages:
            return dropped
        for message in messages:
            if json.loads(message["Body"]).get("Event") != "s3:TestEvent":
                raise DemoError(f"{url}: unexpected message before the stack started: {message['Body'][:200]}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            dropped += 1


def seed_stack(config_dir: Path, host: str, port: int, accounts: int, seed: int) -> tuple[StandIn, dict[str, Any]]:
    """Start and seed the stand-in; returns it and what the ready file says."""
    from starfleet_airflow.core.config import load_configuration
    from starfleet_airflow.core.registry import load_ships

    configuration = load_configuration(config_dir)
    if configuration.errors:
        raise DemoError("the configuration has problems:\n" + "\n".join(map(str, configuration.errors)))
    registry = load_ships(configuration)
    if registry.errors:
        raise DemoError("ships that cannot be loaded:\n" + "\n".join(map(str, registry.errors)))
    stand_in = start_stand_in(configuration, registry, host=host, port=port, n_accounts=accounts, seed=seed)
    try:
        s3 = stand_in.client("s3")
        if STATE_BUCKET not in stand_in.buckets:
            extra = {} if REGION == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
            s3.create_bucket(Bucket=STATE_BUCKET, **extra)
            stand_in.buckets[STATE_BUCKET] = "Airflow remote task logs"
        notification = None
        events = next((q for q in stand_in.queues.values() if q.owner == "STARFLEET.TemplateEventsQueueUrl"), None)
        template_location = configuration.template_location
        if events is not None and template_location is not None and template_location.is_s3:
            notification = connect_template_events(stand_in, str(template_location.bucket), events)
    except BaseException:
        stand_in.stop()
        raise
    fixture = stand_in.fixture
    ready = {
        "endpoint": stand_in.endpoint,
        "region": stand_in.region,
        "organization_id": fixture.organization_id,
        "management_account_id": fixture.management_account_id,
        "accounts": len(fixture.accounts),
        "active_accounts": sum(1 for a in fixture.accounts.values() if a.status == "ACTIVE"),
        "regions_varied": fixture.regions_varied,
        "queues": {configured.owner: created for created, configured in stand_in.queues.items()},
        "buckets": stand_in.buckets,
        "templates_uploaded": stand_in.uploaded_templates,
        "template_events": notification,
    }
    return stand_in, ready


def wait_for_time_wait(host: str, port: int, timeout: float = 90.0) -> None:
    """Wait while the port is held only by connections of an earlier stand-in closing (TIME_WAIT).

    The seeding code refuses a port it cannot bind without SO_REUSEADDR; right after a restart nothing
    listens there but the old connections linger for up to a minute.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not port_free(host, port) and not port_open(port, host):
        time.sleep(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The stack's AWS stand-in (moto), seeded; serves until SIGTERM.")
    parser.add_argument("--config-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--accounts", type=int, default=SEED_ACCOUNTS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    args.ready_file.unlink(missing_ok=True)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    endpoint = f"http://{args.host}:{args.port}"
    wait_for_time_wait(args.host, args.port)
    with environment(stand_in_process_environment(endpoint)):
        try:
            stand_in, ready = seed_stack(args.config_dir, args.host, args.port, args.accounts, args.seed)
        except DemoError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 2
        try:
            args.ready_file.write_text(json.dumps(ready, indent=2) + "\n", encoding="utf-8")
            print(f"stand-in ready on {endpoint}: {json.dumps(ready)}", flush=True)
            stopped.wait()
        finally:
            stand_in.stop()
            args.ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
