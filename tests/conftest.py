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

# Property-based tests (tests/test_fuzz.py): a bounded, reproducible run in CI; a longer random one on demand:
#   STARFLEET_FUZZ_EXAMPLES=5000 scripts/test.sh tests/test_fuzz.py --hypothesis-show-statistics
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "starfleet",
    max_examples=int(os.environ.get("STARFLEET_FUZZ_EXAMPLES", "40")),
    deadline=None,  # shared 2-core machines: timing is not what these tests check
    derandomize="STARFLEET_FUZZ_EXAMPLES" not in os.environ,  # CI: the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None if "STARFLEET_FUZZ_EXAMPLES" not in os.environ else settings.default.database,
)
settings.load_profile("starfleet")
