"""``airflow`` commands in child processes, with progress read from their output as it comes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from starfleet_airflow.devtools.demo.airflow_env import DEFAULT_DAG_TIMEOUT

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_ENDED = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")
_NEW_STATE = re.compile(r"Task instance state updated.*\bnew_state=(?P<state>\w+)")
_PLANNED = re.compile(
    r"(?P<ship>\w+): (?P<targets>\d+) targets? in (?P<units>\d+) work units? from (?P<templates>\d+) templates?"
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
