"""The demo's Airflow: its environment, the real CLI in child processes, progress and results.

Every DAG run goes through ``airflow dags test <dag_id> --conf ...`` in a child process: the real
command-line path (DAG file parsed from ``dags/``, a real DAG run and task instances in the SQLite
metadata DB, the Amazon provider's hooks on the ``aws_default`` connection), with the whole output in
one log file per run. The child's log lines are read as they come to show progress; the verdicts
shown at the end are read back from the metadata DB (``python -m
starfleet_airflow.devtools.demo_airflow results ...``, a child too, so this process never imports
Airflow with someone else's settings).

Why child processes rather than ``dag.test()`` here: this process hosts the moto server, and task
code running next to it would compete with it for the interpreter lock; a child also gets exactly the
demo's environment, the same one the printed ``airflow standalone`` command uses.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from starfleet_airflow.devtools.demo_standin import STAND_IN_CREDENTIALS, DemoError, proxy_environment

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
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
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


# --------------------------------------------------------------------------------------------------
# Reading `airflow dags test` as it runs
# --------------------------------------------------------------------------------------------------

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_ENDED = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_NEW_STATE = re.compile(r"Task instance state updated.*\bnew_state=(?P<state>\w+)")
_PLANNED = re.compile(
    r"(?P<ship>\w+): (?P<targets>\d+) targets in (?P<units>\d+) work units from (?P<templates>\d+) templates"
    r" \((?P<invalid>\d+) invalid\)"
)
_VERDICT = re.compile(r"^(?:\S+\s+\[\w+\s*\]\s+)?(?P<verdict>\w+: (?:OK|FAILED)\b.*?)(?:\s+\[[\w.]+\]\s+loc=\S+)?$")
_FINISHED = re.compile(r"DagRun Finished: dag_id=(?P<dag>[^,]+),.*?run_id=(?P<run>[^,]+),.*?state=(?P<state>\w+)")
_STARFLEET_ERROR = re.compile(r"\[error\s*\]\s+(?P<text>.*?)\s+\[(?:starfleet_airflow|ships)[\w.]*\]")
_LOG_SUFFIX = re.compile(r"\s+\[[\w.]+\]\s+loc=\S+.*$")


@dataclass
class DagTestProgress:
    """What the log of one ``airflow dags test`` said so far; ``feed`` returns events worth showing."""

    units: int | None = None
    targets: int | None = None
    started: dict[str, int] = field(default_factory=dict)
    ended: dict[str, dict[str, int]] = field(default_factory=dict)  # task -> state -> count
    verdict: str | None = None
    run_id: str | None = None
    state: str | None = None
    errors: list[str] = field(default_factory=list)
    _last_state: str | None = None

    def feed(self, line: str) -> list[tuple[str, Any]]:
        """Parse one line; events are ``("planned", (targets, units, templates, invalid))``,
        ``("task_end", (task, map_index, state))``, ``("retry", task)``, ``("verdict", text)``,
        ``("error", text)``, ``("finished", (run_id, state))``."""
        events: list[tuple[str, Any]] = []
        if match := _STARTING.search(line):
            task = match["task"]
            self.started[task] = self.started.get(task, 0) + 1
            self._last_state = None
        elif match := _NEW_STATE.search(line):
            self._last_state = match["state"]
            if self._last_state == "up_for_retry":
                events.append(("retry", None))
        elif match := _ENDED.search(line):
            state = self._last_state or "unknown"
            counts = self.ended.setdefault(match["task"], {})
            counts[state] = counts.get(state, 0) + 1
            events.append(("task_end", (match["task"], int(match["index"]), state)))
        elif match := _PLANNED.search(line):
            self.targets, self.units = int(match["targets"]), int(match["units"])
            events.append(("planned", (self.targets, self.units, int(match["templates"]), int(match["invalid"]))))
        elif match := _FINISHED.search(line):
            self.run_id, self.state = match["run"].strip(), match["state"]
            events.append(("finished", (self.run_id, self.state)))
        elif match := _STARFLEET_ERROR.search(line):
            text = _LOG_SUFFIX.sub("", match["text"])
            self.errors.append(text)
            events.append(("error", text))
        elif (" OK (" in line or ": FAILED" in line) and (match := _VERDICT.match(line.strip())):
            self.verdict = match["verdict"]
            events.append(("verdict", self.verdict))
        return events

    def done(self, task: str) -> int:
        return sum(self.ended.get(task, {}).values())

    def failed(self, task: str) -> int:
        counts = self.ended.get(task, {})
        return sum(n for state, n in counts.items() if state not in ("success", "skipped"))


@dataclass
class CommandOutcome:
    """A finished Airflow command: exit code, elapsed seconds, the log it wrote."""

    command: list[str]
    returncode: int
    seconds: float
    log_path: Path
    timed_out: bool = False


def display_command(args: Sequence[str]) -> str:
    """How a user would type it: ``airflow ...`` instead of ``<python> -m airflow ...``."""
    return shlex.join(["airflow", *args])


def run_airflow(
    args: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    *,
    on_line: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_DAG_TIMEOUT,
    cwd: Path | None = None,
) -> CommandOutcome:
    """Run ``airflow <args>`` in a child process, every output line to ``log_path`` (and ``on_line``).

    The child gets its own process group so that a timeout or Ctrl-C stops it and everything it started.
    """
    command = [sys.executable, "-m", "airflow", *args]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timed_out = threading.Event()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(f"$ {display_command(args)}\n")
        log.flush()
        process = subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )

        def expire() -> None:
            timed_out.set()
            _stop_group(process)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            _pump(process.stdout, log, on_line)
            returncode = process.wait()
        except BaseException:
            _stop_group(process)
            raise
        finally:
            timer.cancel()
    return CommandOutcome(command, returncode, time.monotonic() - started, log_path, timed_out.is_set())


def _pump(stream: TextIO | None, log: TextIO, on_line: Callable[[str], None] | None) -> None:
    if stream is None:  # pragma: no cover - stdout is always a pipe here
        return
    for line in stream:
        log.write(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def _stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM the child's process group, SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------------
# Results from the metadata DB
# --------------------------------------------------------------------------------------------------


def collect_results(runs: Iterable[tuple[str, str]], env: Mapping[str, str], log_path: Path) -> dict[str, Any]:
    """``{run_id: {...}}`` for ``(dag_id, run_id)`` pairs, read by a child with the demo's environment."""
    pairs = [f"{dag_id}={run_id}" for dag_id, run_id in runs]
    if not pairs:
        return {}
    command = [sys.executable, "-m", "starfleet_airflow.devtools.demo_airflow", "results", *pairs]
    completed = subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=300, check=False)
    log_path.write_text(completed.stderr, encoding="utf-8")
    if completed.returncode != 0:
        raise DemoError(f"reading the runs back from the metadata DB failed; see {log_path}")
    return json.loads(completed.stdout)


def read_runs(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """In the child: each run's state, task states and the plan/report XComs (Airflow's own models)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    def xcom(session: Any, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        row = session.scalars(
            XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id, map_indexes=-1)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)

    found: dict[str, Any] = {}
    with create_session() as session:
        for dag_id, run_id in pairs:
            run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one_or_none()
            if run is None:
                found[run_id] = {"dag_id": dag_id, "state": "missing"}
                continue
            tasks: dict[str, dict[str, int]] = {}
            for ti in session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id):
                state = str(getattr(ti.state, "value", ti.state))
                tasks.setdefault(ti.task_id, {})
                tasks[ti.task_id][state] = tasks[ti.task_id].get(state, 0) + 1
            seconds = (run.end_date - run.start_date).total_seconds() if run.end_date and run.start_date else None
            found[run_id] = {
                "dag_id": dag_id,
                "state": str(getattr(run.state, "value", run.state)),
                "conf": run.conf,
                "seconds": seconds,
                "tasks": tasks,
                "summary": xcom(session, dag_id, run_id, "plan", "summary"),
                "report": xcom(session, dag_id, run_id, "report", "return_value")
                or xcom(session, dag_id, run_id, "report", "report"),
            }
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m starfleet_airflow.devtools.demo_airflow results DAG_ID=RUN_ID ...`` (JSON on stdout)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "results":
        print("usage: python -m starfleet_airflow.devtools.demo_airflow results DAG_ID=RUN_ID ...", file=sys.stderr)
        return 2
    pairs = [tuple(arg.split("=", 1)) for arg in args[1:]]
    if any(len(pair) != 2 for pair in pairs):
        print("expected DAG_ID=RUN_ID arguments", file=sys.stderr)
        return 2
    json.dump(read_runs(pairs), sys.stdout, default=str)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
