"""``scripts/stack.sh up | down | status``: bring the stack up (idempotently), take it down, show it.

``up`` starts whatever is not running, in order (PostgreSQL, Redis, the stand-in, the account index, the
metadata DB migration, the api-server, scheduler, dag-processor, triggerer, the two workers), waits for
each to be ready, then for every enabled ship's DAG to be parsed, and writes ``stack.env``. A component
already running is left alone, so ``up`` twice is harmless and ``up`` after a crash restarts only what
died. ``down`` stops every recorded process (and its descendants) in reverse order and checks that no
port of the stack is still listened on. ``status`` prints one line per component; exit 0 when all are up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from starfleet_airflow.devtools.stack import postgres, processes
from starfleet_airflow.devtools.stack.api import AirflowApi
from starfleet_airflow.devtools.stack.components import Component, components, readiness
from starfleet_airflow.devtools.stack.settings import (
    ADMIN_USER,
    PORT_VARIABLES,
    REGION,
    WORKERS,
    StackError,
    StackSecrets,
    StackSettings,
    airflow_environment,
    write_env_file,
)

DAGS_TIMEOUT = 240.0
PARALLEL = frozenset({"scheduler", "dag-processor", "triggerer", *WORKERS})


class Stack:
    def __init__(self, settings: StackSettings, say=print) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.secrets = StackSecrets.load_or_create(settings.state / "secrets.json")
        self.airflow_env = airflow_environment(settings, self.secrets)
        self.components = components(settings, self.airflow_env)
        self.api = AirflowApi(settings.api_url, ADMIN_USER, self.secrets.admin_password)
        self.say = say

    # up -----------------------------------------------------------------------------------------------

    def up(self) -> float:
        started = time.monotonic()
        settings = self.settings
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        (settings.state / "passwords.json").write_text(json.dumps({ADMIN_USER: self.secrets.admin_password}) + "\n")
        for component in self.components:
            if component.name == "postgres" and postgres.initialise(settings, settings.log_dir / "postgres.log"):
                self.say("postgres: cluster initialised")
            if component.name == "api-server":
                self._migrate()
            if component.name in PARALLEL:
                continue
            self._start(component)
            self._wait_ready(component)
            if component.name == "postgres":
                postgres.create_database(settings)
            if component.name == "stand-in":
                self._ensure_index()
        # The Airflow components after the api-server only need the database and the api-server: start them
        # together, then wait for each (their imports overlap instead of queueing).
        later = [component for component in self.components if component.name in PARALLEL]
        for component in later:
            self._start(component)
        for component in later:
            self._wait_ready(component)
        self._wait_for_dags()
        self.write_env()
        seconds = time.monotonic() - started
        self.say(f"stack up in {seconds:.1f} s: {settings.api_url} (user {ADMIN_USER}); env in {settings.env_file}")
        return seconds

    def _start(self, component: Component) -> None:
        """Start the component unless it already runs with the same settings."""
        settings = self.settings
        running = processes.find(settings.run_dir, component.name)
        wanted = processes.fingerprint(component.argv, component.env, component.cwd)
        if running is not None and running.fingerprint != wanted:
            self.say(f"{component.name}: its settings changed, restarting it")
            processes.stop(settings.run_dir, component.name, sig=component.stop_signal)
            running = None
        if running is None:
            for key in (component.port, *component.extra_ports):
                if key and processes.port_open(settings.ports[key]):
                    holders = "; ".join(processes.listeners(settings.ports[key])) or "unknown process"
                    variable = PORT_VARIABLES[key][0]
                    raise StackError(
                        f"{component.name}: port {settings.ports[key]} is in use ({holders});"
                        f" stop that process or choose another port with {variable}=..."
                    )
            running = processes.start(
                settings.run_dir,
                settings.log_dir,
                component.name,
                component.argv,
                component.env,
                component.cwd,
                user=component.user,
            )
            self.say(f"{component.name}: started (pid {running.pid})")

    def _wait_ready(self, component: Component) -> None:
        settings = self.settings
        check = readiness(settings, self.api)
        log = settings.log_dir / f"{component.name}.log"
        try:
            processes.wait_until(
                lambda: readiness(settings, self.api)(component.name)[0],
                component.startup_seconds,
                component.name,
                alive=lambda: processes.find(settings.run_dir, component.name) is not None,
                interval=1.0,
            )
        except TimeoutError as exc:
            raise StackError(f"{exc}; last check: {check(component.name)[1]}; see {log}") from None
        self.say(f"{component.name}: ready ({readiness(settings, self.api)(component.name)[1]})")

    def _migrate(self) -> None:
        """``airflow db migrate`` once per Airflow version (the marker file says which was migrated)."""
        from importlib.metadata import version

        marker = self.settings.state / f"migrated-airflow-{version('apache-airflow')}"
        if marker.is_file():
            return
        self.say("airflow db migrate (first start)")
        self._run_logged(["db", "migrate"], "airflow-db-migrate", timeout=600)
        marker.write_text("ok\n")

    def _run_logged(self, args: Sequence[str], name: str, timeout: float, airflow: bool = True) -> None:
        binary = Path(sys.executable).parent / ("airflow" if airflow else "starfleet-airflow")
        log_path = self.settings.log_dir / f"{name}.log"
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            done = subprocess.run(
                [str(binary), *args],
                env=self.airflow_env,
                cwd=self.settings.state,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if done.returncode != 0:
            raise StackError(f"{binary.name} {' '.join(args)} failed (exit code {done.returncode}); see {log_path}")

    def _ensure_index(self) -> None:
        """The account index in the stand-in's S3: written by AccountIndexGeneratorShip when missing.

        A profile without that ship (the benchmark's) uploads its own index before each run.
        """
        from botocore.exceptions import ClientError

        from starfleet_airflow.core.config import load_configuration
        from starfleet_airflow.devtools.stack.api import StackEnv
        from starfleet_airflow.devtools.stack.settings import STATE_BUCKET

        if load_configuration(self.settings.config_dir).section("AccountIndexGeneratorShip") is None:
            return
        s3 = StackEnv(self.env_values(), self.settings.env_file).aws_client("s3")
        try:
            s3.head_object(Bucket=STATE_BUCKET, Key="accountIndex.json")
            return
        except ClientError:
            pass
        self.say("account index: running AccountIndexGeneratorShip (commit) against the stand-in")
        args = ["run", "AccountIndexGeneratorShip", "--template", "generate", "--commit"]
        self._run_logged([*args, "--config-dir", str(self.settings.config_dir)], "account-index", 300, airflow=False)

    def _wait_for_dags(self) -> None:
        """Every enabled ship's DAG parsed and registered, and no import error."""
        from starfleet_airflow.core.config import load_configuration
        from starfleet_airflow.core.registry import load_ships

        expected = len(load_ships(load_configuration(self.settings.config_dir), self.settings.ships_dir).ships)
        deadline = time.monotonic() + DAGS_TIMEOUT
        while True:
            dags = self.api.dags()
            errors = self.api.import_errors()
            broken = [dag["dag_id"] for dag in dags if any(tag["name"] == "broken" for tag in dag.get("tags", []))]
            if errors or broken:
                problems = [f"{e.get('filename')}: {e.get('stack_trace', '')[-300:]}" for e in errors] + broken
                raise StackError("the stack's DAGs do not parse: " + "; ".join(problems))
            if len(dags) >= expected:
                self.say(f"dags: {len(dags)} parsed ({', '.join(sorted(d['dag_id'] for d in dags))})")
                return
            if time.monotonic() > deadline:
                raise StackError(f"only {len(dags)} of {expected} DAGs parsed after {DAGS_TIMEOUT:.0f} s")
            time.sleep(2)

    def env_values(self) -> dict[str, str]:
        settings = self.settings
        values = {
            "AIRFLOW_API_URL": settings.api_url,
            "AIRFLOW_USERNAME": ADMIN_USER,
            "AIRFLOW_PASSWORD": self.secrets.admin_password,
            "AWS_ENDPOINT_URL": settings.moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "STARFLEET_CONFIG_DIR": str(settings.config_dir),
            "STARFLEET_STACK_DIR": str(settings.state),
            "STARFLEET_STACK_WORKERS": ",".join(WORKERS),
            "STARFLEET_STACK_AIRFLOW_ENV": str(settings.state / "airflow-env.sh"),
            "AIRFLOW_DATABASE_URL": settings.database_url,
            "CELERY_BROKER_URL": settings.broker_url,
        }
        values.update({variable: str(settings.ports[name]) for name, (variable, _) in PORT_VARIABLES.items()})
        return values

    def write_env(self) -> None:
        header = "Written by scripts/stack.sh up: how scripts and tests reach the stack (README, stack section)."
        write_env_file(self.settings.env_file, self.env_values(), header)
        write_env_file(
            self.settings.state / "airflow-env.sh",
            self.airflow_env,
            "Written by scripts/stack.sh up: `source` it to run `airflow ...` against the stack.",
        )

    # down / status ------------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop every component (reverse order); returns the ports still listened on (should be none)."""
        # The Airflow components together (their shutdowns overlap), then the stand-in, Redis, PostgreSQL.
        airflow = [c for c in reversed(self.components) if c.name in PARALLEL or c.name == "api-server"]
        rest = [c for c in reversed(self.components) if c not in airflow]
        for group in ([airflow], [[c] for c in rest]):
            for batch in group:
                started = time.monotonic()
                names = {c.name: c.stop_signal for c in batch}
                for name in processes.stop_together(self.settings.run_dir, names):
                    self.say(f"{name}: stopped in {time.monotonic() - started:.1f} s")
        left = []
        for component in self.components:
            for key in (component.port, *component.extra_ports):
                port = self.settings.ports[key] if key else None
                if port and processes.port_open(port):
                    left.append(f"{port} ({component.name}: {processes.listeners(port)})")
        self.settings.env_file.unlink(missing_ok=True)
        return left

    def status(self) -> list[dict[str, object]]:
        check = readiness(self.settings, self.api)
        rows = []
        for component in self.components:
            running = processes.find(self.settings.run_dir, component.name)
            ready, detail = check(component.name) if running else (False, "not running")
            port = self.settings.ports[component.port] if component.port else None
            rows.append(
                {
                    "component": component.name,
                    "pid": running.pid if running else None,
                    "port": port,
                    "ready": ready,
                    "detail": detail,
                }
            )
        return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--json", action="store_true", help="status: print JSON")
    args = parser.parse_args(argv)
    try:
        stack = Stack(StackSettings.from_environment())
        if args.command == "up":
            try:
                stack.up()
            except (StackError, KeyboardInterrupt):
                print("up failed; the components started so far keep running (scripts/stack.sh down stops them)")
                raise
            return 0
        if args.command == "down":
            left = stack.down()
            if left:
                print("error: still listened on: " + "; ".join(left), file=sys.stderr)
                return 1
            print("stack down: no process and no port left")
            return 0
        rows = stack.status()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mark = "up  " if row["ready"] else "DOWN"
            pid = f"pid {row['pid']}" if row["pid"] else "-"
            port = f":{row['port']}" if row["port"] else ""
            print(f"{mark} {row['component']:<15} {pid:<11} {port:<7} {row['detail']}")
    return 0 if all(row["ready"] for row in rows) else 1
