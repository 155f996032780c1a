"""Test-wide settings: AWS stand-in credentials so nothing can reach a real account."""

from __future__ import annotations

import os

# Set before boto3 or Airflow are imported by any test module.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ.pop("AWS_PROFILE", None)

# A private Airflow (home, SQLite DB, dags/ folder) for the DAG tests, set before anything imports Airflow.
# Fixtures: airflow_db (metadata DB, once per session), deployment (config + templates + index in tmp).
from tests.airflow_fixtures import airflow_db, configure_airflow_environment, deployment  # noqa: F401

# Starfleet compatibility: a loopback fake of Slack's Web API, clean singletons, Starfleet's LOGGER records.
from tests.starfleet_fixtures import clean_starfleet_state, fake_slack, starfleet_log  # noqa: F401

configure_airflow_environment()
