"""AWS clients and sessions from Airflow connections, through the Amazon provider's hooks.

The hooks own credentials, regions, endpoints and retries (``aws_default`` unless the configuration
names another connection); the core and the delivery modes receive the finished client or session, so
they never decide how to authenticate and never import Airflow. Every factory here is lazy: a task
builds only the clients its work needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.delivery.sqs_batches import queue_region

log = logging.getLogger(__name__)


def s3_client(aws_conn_id: str | None, region_name: str | None) -> Any:
    """A boto3 S3 client from ``S3Hook`` and the given connection."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=aws_conn_id, region_name=region_name).get_conn()


def store_client_factory(configuration: Configuration) -> Callable[[], Any]:
    """A lazy S3 client for templates, index and snapshots (``STARFLEET.AwsConnId``), made at most once."""
    cache: dict[str, Any] = {}

    def make() -> Any:
        if "client" not in cache:
            cache["client"] = s3_client(
                configuration.starfleet.get("aws_conn_id"), configuration.starfleet.get("deployment_region")
            )
        return cache["client"]

    return make


def ship_conn_id(loaded: LoadedShip) -> str | None:
    """The connection a ship's sends or inline runs use: ``Airflow.AwsConnId``, else ``STARFLEET.AwsConnId``."""
    return loaded.airflow_options.get("aws_conn_id") or loaded.starfleet_configuration.get("aws_conn_id")


def sqs_client(queue_url: str, aws_conn_id: str | None, concurrency: int) -> Any:
    """A boto3 SQS client from the Amazon provider's ``SqsHook`` and an Airflow AWS connection.

    The client's region follows the queue URL when it names one (a queue lives in one region), and its
    connection pool is sized for the sending threads.
    """
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook
    from botocore.config import Config

    hook = SqsHook(
        aws_conn_id=aws_conn_id,
        region_name=queue_region(queue_url),
        # Entries are built by SqsSender, within SQS's limits by construction: botocore's client-side
        # parameter validation would cost a third of each call's CPU time for nothing.
        config=Config(max_pool_connections=max(10, concurrency), parameter_validation=False),
    )
    client = hook.get_conn()
    # What the run really uses: the queue URL is the configured one, the endpoint the connection's.
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "?")
    log.info("SQS: queue %s through endpoint %s (connection %s)", queue_url, endpoint, aws_conn_id)
    return client


def aws_session_factory(aws_conn_id: str | None, region_name: str | None = None) -> Callable[[], Any]:
    """A factory of boto3 sessions from the Amazon provider's ``AwsBaseHook`` (a new session per call).

    boto3 sessions are not thread-safe: inline delivery calls this once per worker thread.
    """

    def make() -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=aws_conn_id, region_name=region_name).get_session(region_name=region_name)

    return make
