"""Where the stack lives, which ports it uses, its secrets, and the environment of every component.

Everything is on 127.0.0.1 and every port can be changed with a ``STARFLEET_STACK_*_PORT`` variable
(``PORT_VARIABLES``); the ports in use are recorded in ``stack.env`` at ``up``, and ``down``/``status``
read them back from there, so a changed variable never makes ``down`` miss a running process.

Secrets (the JWT secret and API secret key every Airflow component must share, the Fernet key, the
admin's password) are generated once into ``secrets.json`` and kept while the state folder lives:
``SimpleAuthManager`` would otherwise generate a new password at every start.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starfleet_airflow.devtools.demo.airflow_env import demo_environment

REPO = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
STATE_DIR_ENV = "STARFLEET_STACK_DIR"
# Another configuration (a profile: ``config/`` next to ``templates/`` and, optionally, ``ships/``), e.g. the
# benchmark's stack/benchmark/config; the default is the stack's own stack/config.
CONFIG_DIR_ENV = "STARFLEET_STACK_CONFIG_DIR"
ADMIN_USER = "admin"
REGION = "us-east-1"
# The seeded organisation: the demo's (60 member accounts, seed 0), so runs are comparable with the demo's.
SEED_ACCOUNTS = 60
SEED = 0
WORKERS = ("stack-worker-1", "stack-worker-2")
CELERY_QUEUE = "default"
# The account index, the run snapshots and the task logs: the stand-in's S3 (see stack/config/starfleet.yaml).
STATE_BUCKET = "starfleet-stack-state"
REMOTE_LOG_FOLDER = f"s3://{STATE_BUCKET}/airflow-logs"

PORT_VARIABLES = {
    "api": ("STARFLEET_STACK_API_PORT", 8080),
    "moto": ("STARFLEET_STACK_MOTO_PORT", 5100),
    "postgres": ("STARFLEET_STACK_POSTGRES_PORT", 15432),
    "redis": ("STARFLEET_STACK_REDIS_PORT", 16379),
}
TUNING_VARIABLES = {
    # Celery processes per worker (tasks running at once on each).
    "worker_concurrency": ("STARFLEET_STACK_WORKER_CONCURRENCY", 4),
    # Seconds without a task heartbeat before the scheduler fails the attempt (Airflow's default is 300);
    # low so that a task of a killed worker is retried on the other one within the end-to-end suite.
    "task_heartbeat_timeout": ("STARFLEET_STACK_TASK_HEARTBEAT_TIMEOUT", 30),
    # Seconds a task may stay queued before the scheduler requeues it (Airflow's default is 600): a task a
    # killed worker had taken but not started must not wait ten minutes.
    "task_queued_timeout": ("STARFLEET_STACK_TASK_QUEUED_TIMEOUT", 120),
}


class StackError(Exception):
    """The stack cannot do what was asked; the message says what happened and what to do."""


def _int_setting(variable: str, default: int, environ: Mapping[str, str]) -> int:
    text = environ.get(variable)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise StackError(f"{variable}={text!r}: expected a whole number") from None
    if value <= 0:
        raise StackError(f"{variable}={text!r}: expected a number above 0")
    return value


@dataclass(frozen=True)
class StackSettings:
    """Folders and ports of one stack (one state folder, ``.starfleet/stack`` by default)."""

    repo: Path
    state: Path
    ports: Mapping[str, int]
    tuning: Mapping[str, int] = field(default_factory=dict)
    config: Path | None = None  # None: stack/config

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, repo: Path = REPO) -> StackSettings:
        environ = os.environ if environ is None else environ
        state = Path(environ.get(STATE_DIR_ENV) or repo / ".starfleet" / "stack").resolve()
        recorded = read_env_file(state / "stack.env")
        ports = {}
        for name, (variable, default) in PORT_VARIABLES.items():
            # A running stack keeps the ports it was started with.
            ports[name] = _int_setting(variable, default, recorded if variable in recorded else environ)
        tuning = {name: _int_setting(var, default, environ) for name, (var, default) in TUNING_VARIABLES.items()}
        if len(set(ports.values())) != len(ports):
            raise StackError(f"two components share a port: {dict(ports)}; set the STARFLEET_STACK_*_PORT variables")
        config = Path(environ[CONFIG_DIR_ENV]).resolve() if environ.get(CONFIG_DIR_ENV) else None
        if config is not None and not config.is_dir():
            raise StackError(f"{CONFIG_DIR_ENV}={environ[CONFIG_DIR_ENV]!r}: expected a configuration folder")
        return cls(repo=repo.resolve(), state=state, ports=ports, tuning=tuning, config=config)

    # Folders -------------------------------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.config or self.repo / "stack" / "config"

    @property
    def ships_dir(self) -> Path | None:
        """A profile's own ship packages (``ships/`` next to its ``config/``), else None: the ``ships`` package."""
        folder = self.config_dir.parent / "ships"
        return folder if self.config is not None and folder.is_dir() else None

    @property
    def run_dir(self) -> Path:
        return self.state / "run"

    @property
    def log_dir(self) -> Path:
        return self.state / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow"

    @property
    def env_file(self) -> Path:
        return self.state / "stack.env"

    def worker_dir(self, worker: str) -> Path:
        """A worker's own working folder: its cwd, temporary files and local log copies."""
        return self.state / "workers" / worker

    # Addresses -----------------------------------------------------------------------------------------

    @property
    def moto_endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['moto']}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.ports['api']}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg2://airflow@{HOST}:{self.ports['postgres']}/airflow"

    @property
    def broker_url(self) -> str:
        return f"redis://{HOST}:{self.ports['redis']}/0"


@dataclass(frozen=True)
class StackSecrets:
    jwt_secret: str
    api_secret_key: str
    fernet_key: str
    admin_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> StackSecrets:
        if path.is_file():
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        created = cls(
            jwt_secret=secrets.token_urlsafe(32),
            api_secret_key=secrets.token_urlsafe(32),
            fernet_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            admin_password=secrets.token_urlsafe(12),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(created.__dict__, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)
        return created


# What the components take from the environment of whoever runs ``up``: nothing that changes behaviour, so that
# ``up`` from a test, a script or a shell starts (and recognises) the same components.
# PATH is fixed (the virtualenv's bin/ goes first): the servers are started by absolute path anyway.
INHERITED = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def inherited_environment() -> dict[str, str]:
    return {"PATH": SYSTEM_PATH, **{name: os.environ[name] for name in INHERITED if name in os.environ}}


def airflow_environment(settings: StackSettings, stack_secrets: StackSecrets) -> dict[str, str]:
    """The environment every Airflow component of the stack shares (workers add their own on top).

    Built on the demo's environment (inherited ``AIRFLOW__*``/AWS settings dropped, ``aws_default`` and
    ``AWS_ENDPOINT_URL`` on the stand-in, plain-HTTP AWS calls through the stand-in as a proxy for
    s3-control's account-prefixed host names), then the production settings: PostgreSQL, Celery on Redis,
    the execution API, remote task logs in the stand-in's S3. Airflow's own URLs say ``localhost``, which
    ``NO_PROXY`` keeps away from that proxy.
    """
    env = demo_environment(
        repo=settings.repo,
        config_dir=settings.config_dir,
        airflow_home=settings.airflow_home,
        endpoint=settings.moto_endpoint,
        region=REGION,
        base=inherited_environment(),
    )
    ports, tuning = settings.ports, settings.tuning
    if settings.ships_dir is not None:
        env["STARFLEET_SHIPS_DIR"] = str(settings.ships_dir)
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": settings.database_url,
            "AIRFLOW__CELERY__BROKER_URL": settings.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + settings.database_url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(tuning.get("worker_concurrency", 4)),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": CELERY_QUEUE,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{ports['api']}/execution/",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "starfleet_airflow.devtools.stack.hostname.stack_hostname",
            "AIRFLOW__CORE__FERNET_KEY": stack_secrets.fernet_key,
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(ports["api"]),
            "AIRFLOW__API__SECRET_KEY": stack_secrets.api_secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": stack_secrets.jwt_secret,
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(settings.state / "passwords.json"),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(tuning.get("task_heartbeat_timeout", 30)),
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(tuning.get("task_queued_timeout", 120)),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
            "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": REMOTE_LOG_FOLDER,
            "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": "aws_default",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.airflow_home / "logs"),
        }
    )
    return env


def worker_environment(base: Mapping[str, str], settings: StackSettings, number: int) -> dict[str, str]:
    """Worker ``number`` (1-based): its own host name, log folder and temporary folder."""
    worker = WORKERS[number - 1]
    folder = settings.worker_dir(worker)
    return {
        **base,
        "STARFLEET_STACK_HOSTNAME": worker,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder / "logs"),
        "TMPDIR": str(folder / "tmp"),
    }


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``stack.env`` (values shell-quoted as written by ``write_env_file``)."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        parts = shlex.split(value)
        values[key.strip()] = parts[0] if parts else ""
    return values


def write_env_file(path: Path, values: Mapping[str, str], header: str) -> None:
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
