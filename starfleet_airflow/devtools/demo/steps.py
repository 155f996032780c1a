"""The demo's DAG runs: which ones, in which order, and how each is run and followed.

SQS ships run once (their commit flag belongs to the consuming Lambda), inline ships twice (a dry run,
then with commit) and the account index generator first, with commit, since every other ship's
targets come from the index it writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starfleet_airflow.devtools.demo.airflow_cli import DagTestProgress, display_command, run_airflow
from starfleet_airflow.devtools.demo.summary import RunRecord, plural
from starfleet_airflow.devtools.stand_in.ports import DemoError
from starfleet_airflow.devtools.stand_in.resources import GENERATOR_SHIP
from starfleet_airflow.devtools.stand_in.server import StandIn, public_access_blocks

S3_PUBLIC_ACCESS_BLOCK_SHIP = "S3PublicAccessBlockWorkerShip"
PROGRESS_EVERY_SECONDS = 5.0
ERRORS_SHOWN = 3

Say = Callable[[str], None]


@dataclass(frozen=True)
class DagStep:
    """One ``airflow dags test`` of the demo."""

    ship: str
    dag_id: str
    conf: dict[str, Any]
    purpose: str

    @property
    def args(self) -> list[str]:
        args = ["dags", "test", self.dag_id]
        return [*args, "--conf", json.dumps(self.conf)] if self.conf else args

    @property
    def title(self) -> str:
        """The purpose, with the commit flag the run is given (SQS ships get none: the Lambda decides)."""
        commit = self.conf.get("commit")
        return self.purpose + ("" if commit is None else " (commit)" if commit else " (dry run)")

    def log_name(self, number: int) -> str:
        return f"{number:02d}-{self.dag_id}{'-commit' if self.conf.get('commit') else ''}.log"


def plan_steps(registry: Any, ships: Sequence[str]) -> list[DagStep]:
    """The DAG runs of ``ships``, in that order; DemoError names a ship that is not loaded and why."""
    from starfleet_airflow.airflow.naming import dag_id_for
    from starfleet_airflow.core.enums import DeliveryMode

    steps: list[DagStep] = []
    for name in ships:
        loaded = registry.get(name)
        if loaded is None:
            raise DemoError(
                f"--ships {name}: {registry.why_not_loaded(name)}; give ships of the configuration, comma-separated"
            )
        dag_id = dag_id_for(name)
        strategy = loaded.fan_out_strategy.value
        if name == GENERATOR_SHIP:
            steps.append(DagStep(name, dag_id, {"commit": True}, "build the account index from the organisation"))
        elif loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS:
            steps.append(DagStep(name, dag_id, {}, f"fan out {strategy} to its SQS queue"))
        else:
            steps.append(DagStep(name, dag_id, {"commit": False}, f"run inline per {strategy}"))
            steps.append(DagStep(name, dag_id, {"commit": True}, f"run inline per {strategy}"))
    return steps


class DagProgressPrinter:
    """Feeds each log line of ``airflow dags test`` to ``DagTestProgress`` and shows a few of its events."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.progress = DagTestProgress()
        self.printed_done = 0
        self.printed_at = time.monotonic()
        self.errors_shown = 0

    def __call__(self, line: str) -> None:
        for kind, value in self.progress.feed(line):
            if kind == "planned":
                targets, units, templates, invalid = value
                extra = f", {plural(invalid, 'invalid template')}" if invalid else ""
                self.say(
                    f"    plan     {plural(targets, 'target')} in {plural(units, 'work unit')}"
                    f" from {plural(templates, 'template')}{extra}"
                )
            elif kind == "task_end":
                task, _, state = value
                if task == "deliver":
                    self._deliver(final=False)
                elif state != "success":
                    self.say(f"    {task:<8} {state}")
            elif kind == "retry":
                self.say("    a task failed; Airflow retries it after the ship's RetryDelaySeconds (the log says why)")
            elif kind == "error" and self.errors_shown < ERRORS_SHOWN:
                self.errors_shown += 1
                self.say(f"    error    {value[:200]}")
            elif kind == "verdict":
                self._deliver(final=True)
                self.say(f"    report   {value}")

    def _deliver(self, *, final: bool) -> None:
        """A line when the mapped deliver tasks are all done, at the verdict, or every few seconds."""
        done, units = self.progress.done("deliver"), self.progress.units
        if not done or done == self.printed_done:
            return
        now = time.monotonic()
        complete = units is not None and done >= units
        if complete or final or now - self.printed_at >= PROGRESS_EVERY_SECONDS:
            failed = self.progress.failed("deliver")
            self.say(f"    deliver  {done}/{units if units is not None else '?'} work units done, {failed} failed")
            self.printed_done, self.printed_at = done, now


def run_step(
    step: DagStep,
    *,
    env: dict[str, str],
    log_path: Path,
    shown_log_path: str,
    say: Say,
    timeout: float,
    cwd: Path,
) -> RunRecord:
    """Run one step through the CLI, showing its progress; returns what the CLI told (not yet the DB)."""
    say(f"    $ {display_command(step.args)}")
    say(f"    log      {shown_log_path}")
    printer = DagProgressPrinter(say)
    outcome = run_airflow(step.args, env, log_path, on_line=printer, timeout=timeout, cwd=cwd)
    progress = printer.progress
    if outcome.timed_out:
        say(f"    stopped after {timeout:.0f} s (--dag-timeout); the log shows how far it got")
    say(
        f"    run      {progress.state or 'did not finish'} in {outcome.seconds:.1f} s (exit code {outcome.returncode})"
    )
    return RunRecord(
        ship=step.ship,
        dag_id=step.dag_id,
        conf=step.conf,
        purpose=step.title,
        log_path=shown_log_path,
        seconds=outcome.seconds,
        returncode=outcome.returncode,
        run_id=progress.run_id,
        cli_state=progress.state,
        verdict=progress.verdict,
    )


def check_public_access(stand_in: StandIn, registry: Any) -> str:
    """S3 Block Public Access read back from the stand-in: a dry run must leave it as it was."""
    loaded = registry.get(S3_PUBLIC_ACCESS_BLOCK_SHIP)
    active = stand_in.fixture.active_account_ids()
    found = public_access_blocks(stand_in, active, loaded.configuration["worker_role_to_assume"])
    blocked = sum(1 for settings in found.values() if settings and all(settings.values()))
    return f"{blocked} of {len(active)} active accounts block all public access (read back through s3-control)"


STAND_IN_CHECKS: dict[str, Callable[[StandIn, Any], str]] = {S3_PUBLIC_ACCESS_BLOCK_SHIP: check_public_access}
