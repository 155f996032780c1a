"""``starfleet.utils.secrets``: ``SECRETS_MANAGER`` (``.secrets`` is the configured secret's JSON object)."""

from __future__ import annotations

from starfleet_airflow.core.secrets import SECRETS_MANAGER, SecretsConfigurationMissingError, SecretsManager

__all__ = ["SECRETS_MANAGER", "SecretsConfigurationMissingError", "SecretsManager"]
