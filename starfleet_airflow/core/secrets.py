"""Starfleet's secrets component: one Secrets Manager secret holding a JSON object, read once per process.

The secret named by ``STARFLEET.SecretsManager`` (``SecretId``, ``SecretRegion``) holds e.g.
``{"STARFLEET": {"SlackToken": "xoxb-..."}, "<AnyWorker>": ...}``; ships read it as
``SECRETS_MANAGER.secrets["<AnyWorker>"]``. How the string is fetched is pluggable: boto3 with the default
credentials (the Lambda side, the CLI), or the Amazon provider's hook with the deployment's Airflow connection
(installed by the Airflow layer for the duration of a task).

The parsed secret is cached for the life of the process, as in Starfleet (a warm Lambda container keeps what
it read; an Airflow task is its own process, so each task reads the current value once).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

SecretReader = Callable[[str, str], str]  # (secret id, region) -> the secret string


class SecretsConfigurationMissingError(Exception):
    """``STARFLEET.SecretsManager`` is not configured, so there is no secret to read."""


class SecretsError(Exception):
    """The secret cannot be read or is not a JSON object; the message names the secret."""


def _boto3_reader(secret_id: str, region: str) -> str:
    from starfleet_airflow.aws.secrets import read_secret_string

    return read_secret_string(secret_id, region)


class SecretsManager:
    """``SECRETS_MANAGER``: ``.secrets`` is the parsed secret, loaded on first access (Starfleet's API).

    ``_secrets`` may be set directly (Starfleet's tests do). An empty secret (``{}``) is read again on the
    next access, as in Starfleet.
    """

    def __init__(self) -> None:
        self._secrets: dict[str, Any] | None = None
        self._reader: SecretReader | None = None
        self._lock = threading.Lock()

    @property
    def secrets(self) -> dict[str, Any]:
        if not self._secrets:
            with self._lock:  # concurrent targets of one task wait for one read
                if not self._secrets:
                    self._load()
        return self._secrets  # type: ignore[return-value]

    def load_secrets(self) -> None:
        """Read the configured secret now (raises ``SecretsConfigurationMissingError`` or ``SecretsError``)."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        settings = self._settings()
        secret_id, region = settings["SecretId"], settings["SecretRegion"]
        where = f"the secret {secret_id} in {region}"
        reader = self._reader or _boto3_reader
        try:
            text = reader(secret_id, region)
        except Exception as exc:  # botocore, the hook, credentials: one error that names the secret
            raise SecretsError(f"cannot read {where}: {type(exc).__name__}: {exc}") from exc
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SecretsError(f"{where} is not JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise SecretsError(f"{where}: expected a JSON object, got {type(value).__name__}")
        self._secrets = value

    def reset(self) -> None:
        """Forget the cached secret (the next access reads it again)."""
        self._secrets = None

    @contextmanager
    def reading_with(self, reader: SecretReader) -> Iterator[None]:
        """Fetch the secret string with ``reader`` inside the block (the Airflow layer's provider hook)."""
        previous = self._reader
        self._reader = reader
        try:
            yield
        finally:
            self._reader = previous

    @staticmethod
    def _settings() -> dict[str, Any]:
        section = STARFLEET_CONFIGURATION.config.get("STARFLEET") or {}
        settings = section.get("SecretsManager")
        if not isinstance(settings, dict) or not settings.get("SecretId") or not settings.get("SecretRegion"):
            raise SecretsConfigurationMissingError(
                "STARFLEET.SecretsManager: expected SecretId and SecretRegion (the secret holding a JSON object)"
            )
        return settings


SECRETS_MANAGER = SecretsManager()
