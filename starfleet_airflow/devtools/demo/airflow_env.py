"""The demo's Airflow: its environment, the real CLI in child processes, progress and results.

Every DAG run goes through ``airflow dags test <dag_id> --conf ...`` in a child process: the real
command-line path (DAG file parsed from ``dags/``, a real DAG run and task instances in the SQLite
metadata DB, the Amazon provider's hooks on the ``aws_default`` connection), with the whole output in
one log file per run. The child's log lines are read as they come to show progress; the verdicts
shown at the end are read back from the metadata DB (``python -m
starfleet_airflow.devtools.demo.results results ...``, a child too, so this process never imports
Airflow with someone else's settings).

Why child processes rather than ``dag.test()`` here: this process hosts the moto server, and task
code running next to it would compete with it for the interpreter lock; a child also gets exactly the
demo's environment, the same one the printed ``airflow standalone`` command uses.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from starfleet_airflow.devtools.stand_in.ports import PROXY_VARIABLES, proxy_environment
from starfleet_airflow.devtools.stand_in.server import STAND_IN_CREDENTIALS

# Inherited variables that could point the demo at something real (a database, an AWS profile, a
# token, other ships); they are dropped before the demo's own values are set.
DROPPED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "STARFLEET_")
DROPPED_VARIABLES = (
    "AIRFLOW_HOME",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    *PROXY_VARIABLES,  # the demo reaches only this machine; its own proxy route is set below
)
DEFAULT_DAG_TIMEOUT = 20 * 60.0


def demo_environment(
    *,
    repo: Path,
    config_dir: Path,
    airflow_home: Path,
    endpoint: str,
    region: str,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The complete environment of every Airflow command of the demo (and of ``airflow standalone``)."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if key not in DROPPED_VARIABLES and not key.startswith(DROPPED_PREFIXES)
    }
    bin_dir = str(Path(sys.executable).parent)
    connection = {
        "conn_type": "aws",
        "login": STAND_IN_CREDENTIALS["aws_access_key_id"],
        "password": STAND_IN_CREDENTIALS["aws_secret_access_key"],
        "extra": {"region_name": region, "endpoint_url": endpoint},
    }
    env.update(
        {
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),  # airflow standalone starts `airflow ...`
            # The checkout's packages first, whatever the virtualenv's install points at.
            "PYTHONPATH": os.pathsep.join(filter(None, (str(repo), env.get("PYTHONPATH", "")))),
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
            "STARFLEET_CONFIG_DIR": str(config_dir),
            # Every boto3 client, the provider hooks' and the ships' own, reaches the stand-in only.
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": STAND_IN_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": STAND_IN_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **proxy_environment(endpoint),
        }
    )
    return env


ENV_FILE_KEYS = (
    "PATH",
    "PYTHONPATH",
    "AIRFLOW_HOME",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
    "AIRFLOW_CONN_AWS_DEFAULT",
    "STARFLEET_CONFIG_DIR",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """A file to ``source`` for running ``airflow`` by hand on the demo's setup (the UI, more runs)."""
    lines = [
        "# Written by scripts/demo.sh: `source` it, then run `airflow standalone` (the AWS stand-in must run:",
        "# scripts/demo.sh --serve). It unsets what could reach a real AWS account or another Airflow.",
    ]
    prefixes = "|".join(DROPPED_PREFIXES)
    lines.append(f"for name in $(env | sed -n -E 's/^(({prefixes})[A-Za-z0-9_]*)=.*/\\1/p'); do unset \"$name\"; done")
    lines += [f"unset {name}" for name in DROPPED_VARIABLES]
    for key in ENV_FILE_KEYS:
        if key == "PATH":
            lines.append(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
        elif key in env:
            lines.append(f"export {key}={shlex.quote(env[key])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
