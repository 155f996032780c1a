"""What a ship's task sets up around its body, so Starfleet's singletons answer as they would in Starfleet.

Inside every task of a ship DAG (plan, deliver, report; a reviewed DAG's dry_run, review, apply and report):

* ``STARFLEET_CONFIGURATION`` serves the configuration the DAG was built from (ships read ``.config``);
* ``STARFLEET.LogLevel`` / ``ThirdPartyLoggerLevels`` are applied (and put back when the task body ends);
* ``SECRETS_MANAGER`` reads its secret through the Amazon provider's ``SecretsManagerHook`` with the ship's
  Airflow connection (``Airflow.AwsConnId``, else ``STARFLEET.AwsConnId``) instead of the default credentials;
* with ``STARFLEET.SlackConnId``, ship alerts post through the Slack provider's hook and that connection
  (otherwise with the token from the secret, as in Starfleet);
* in ``deliver`` (and a reviewed run's ``dry_run`` and ``apply``), ``ACCOUNT_INDEX`` is the run's snapshot
  index (``deliver_task`` and ``apply_task`` serve it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from starfleet_airflow.airflow.connections import ship_conn_id
from starfleet_airflow.core.alerts import ALERTS
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.log_levels import log_levels, ship_logger_names
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.secrets import SECRETS_MANAGER, SecretReader
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION
from starfleet_airflow.starfleet_compat.loader import ACCOUNT_INDEX


def hook_secret_reader(aws_conn_id: str | None) -> SecretReader:
    """Fetch the secret with the Amazon provider's ``SecretsManagerHook`` and an Airflow AWS connection."""

    def read(secret_id: str, region: str) -> str:
        from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook

        secret = SecretsManagerHook(aws_conn_id=aws_conn_id, region_name=region).get_secret(secret_id)
        return secret.decode("utf-8") if isinstance(secret, bytes) else secret

    return read


class SlackHookPoster:
    """``chat.postMessage`` through the Slack provider's ``SlackHook`` (token, base URL, proxy and retries
    come from the Airflow connection)."""

    def __init__(self, slack_conn_id: str) -> None:
        from airflow.providers.slack.hooks.slack import SlackHook

        self.hook = SlackHook(slack_conn_id=slack_conn_id)

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self.hook.client.chat_postMessage(channel=channel, text=text, blocks=blocks)


def _forget_loaded() -> None:
    SECRETS_MANAGER.reset()
    ACCOUNT_INDEX.reset()


@contextmanager
def starfleet_task(loaded: LoadedShip, configuration: Configuration) -> Iterator[None]:
    """Serve the configuration, apply the log levels, wire secrets and Slack to Airflow connections."""
    settings = configuration.starfleet
    with ExitStack() as stack:
        stack.callback(
            _forget_loaded
        )  # one task's secret and index never outlive it (dag.test runs many in one process)
        _forget_loaded()
        stack.enter_context(STARFLEET_CONFIGURATION.serving(configuration))
        stack.enter_context(log_levels(settings, ship_logger_names([loaded.origin])))
        stack.enter_context(SECRETS_MANAGER.reading_with(hook_secret_reader(ship_conn_id(loaded))))
        slack_conn_id = settings.get("slack_conn_id")
        if slack_conn_id:
            stack.enter_context(ALERTS.posting_with(lambda: SlackHookPoster(slack_conn_id)))
        yield
