"""The embedded-default demo: the real DAGs, through Airflow, against a local AWS stand-in.

``scripts/demo.sh`` (or ``python -m starfleet_airflow.devtools.demo``) needs no AWS account:

1. starts moto on 127.0.0.1:5000 in this process and seeds it from ``config/``: an organisation of
   61 accounts in nested OUs with tags and varied enabled regions, the roles the ships assume, the
   SQS queue of every SQS-delivery ship (``demo_standin``);
2. migrates a SQLite metadata DB under ``.starfleet/airflow`` (reused by the next run);
3. runs the ships' DAGs with ``airflow dags test`` (``demo_airflow``): the account index generator
   (commit), the SQS ships (AwsConfigWorkerShip fans out per account and region, IamRoleWorkerShip per
   account), then the inline S3PublicAccessBlockWorkerShip as a dry run and with commit;
4. prints what happened (``demo_summary``) and how to open the Airflow UI on the same setup.

Every run starts a fresh stand-in (moto's state lives in this process), reuses the metadata DB and
overwrites the account index, so the demo can be run again and again. Details: docs/demo.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from starfleet_airflow.devtools.demo_airflow import (
    DEFAULT_DAG_TIMEOUT,
    collect_results,
    demo_environment,
    display_command,
    run_airflow,
    write_env_file,
)
from starfleet_airflow.devtools.demo_standin import (
    DemoError,
    StandIn,
    environment,
    stand_in_process_environment,
    start_stand_in,
)
from starfleet_airflow.devtools.demo_steps import STAND_IN_CHECKS, DagStep, plan_steps, run_step
from starfleet_airflow.devtools.demo_summary import (
    RunRecord,
    index_facts,
    region_spread,
    render_index,
    render_queues,
    render_run,
    sent_per_queue,
    target_spread,
)
from starfleet_airflow.locations import LocationError, read_bytes

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SHIPS = (
    "AccountIndexGeneratorShip",
    "AwsConfigWorkerShip",
    "IamRoleWorkerShip",
    "S3PublicAccessBlockWorkerShip",
)
LOG_DIRS_KEPT = 10


@dataclass
class DemoOptions:
    """Where and how the demo runs; the defaults are the README's command."""

    repo: Path = REPO
    config_dir: Path | None = None  # default: <repo>/config
    state_dir: Path | None = None  # default: <repo>/.starfleet (Airflow home, logs, env file)
    host: str = "127.0.0.1"
    port: int = 5000
    accounts: int = 60
    seed: int = 0
    ships: tuple[str, ...] = DEFAULT_SHIPS
    serve: bool = False
    skip_runs: bool = False
    dag_timeout: float = DEFAULT_DAG_TIMEOUT

    @property
    def config(self) -> Path:
        return (self.config_dir or self.repo / "config").resolve()

    @property
    def state(self) -> Path:
        return (self.state_dir or self.repo / ".starfleet").resolve()

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow"

    @property
    def env_file(self) -> Path:
        return self.state / "demo-env.sh"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class DemoResult:
    """What ``run_demo`` did; ``summary.json`` in the log folder holds the same."""

    log_dir: Path
    runs: list[RunRecord] = field(default_factory=list)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    index: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(run.state == "success" for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "log_dir": str(self.log_dir),
            "runs": [asdict(run) | {"state": run.state} for run in self.runs],
            "queues": self.queues,
            "index": self.index,
        }


class Printer:
    """Progress lines prefixed with the time since the demo started."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self._lock = threading.Lock()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, text: str = "", *, stamp: bool = True) -> None:
        prefix = f"[{self.elapsed:6.1f}s] " if stamp else ""
        with self._lock:
            print(prefix + text, file=self.stream, flush=True)


def new_log_dir(state: Path) -> Path:
    """A fresh folder for this run's logs; only the latest ``LOG_DIRS_KEPT`` are kept."""
    root = state / "demo-logs"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir, suffix = root / stamp, 1
    while log_dir.exists():
        suffix += 1
        log_dir = root / f"{stamp}-{suffix}"
    log_dir.mkdir(parents=True)
    old = sorted(p for p in root.iterdir() if p.is_dir() and p != log_dir)
    for stale in old[: max(0, len(old) - (LOG_DIRS_KEPT - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return log_dir


class _Session:
    """One demo run once the stand-in is up: the steps above, in order."""

    def __init__(
        self, options: DemoOptions, configuration: Any, registry: Any, stand_in: StandIn, log_dir: Path, say: Printer
    ) -> None:
        self.options = options
        self.configuration = configuration
        self.registry = registry
        self.stand_in = stand_in
        self.log_dir = log_dir
        self.say = say
        self.result = DemoResult(log_dir)
        self.env: dict[str, str] = {}
        self.index_note: str | None = None

    def shown(self, path: Path) -> str:
        """A path as the user would type it from the checkout."""
        for base in (Path.cwd(), self.options.repo):
            try:
                return str(path.relative_to(base))
            except ValueError:
                continue
        return str(path)

    def describe_stand_in(self) -> None:
        fixture, say = self.stand_in.fixture, self.say
        active = [a for a in fixture.accounts.values() if a.status == "ACTIVE"]
        say(
            f"    organisation {fixture.organization_id}: {len(fixture.accounts)} accounts"
            f" ({len(fixture.accounts) - len(active)} suspended) in {len(fixture.org_units)} nested OUs, tagged"
        )
        varied = "" if fixture.regions_varied else " (moto's defaults: per-account regions need moto in this process)"
        say(f"    regions  enabled per active account: {region_spread(len(a.regions) for a in active)}{varied}")
        for url, queue in self.stand_in.queues.items():
            say(f"    queue    {url} ({queue.owner})")
        for bucket, setting in self.stand_in.buckets.items():
            say(f"    bucket   s3://{bucket} ({setting})")
        if self.stand_in.uploaded_templates:
            say(f"    uploaded {self.stand_in.uploaded_templates} templates to {self.configuration.template_location}")

    def prepare_airflow(self, number: int, total: int) -> None:
        options = self.options
        self.env = demo_environment(
            repo=options.repo,
            config_dir=options.config,
            airflow_home=options.airflow_home,
            endpoint=self.stand_in.endpoint,
            region=self.stand_in.region,
        )
        write_env_file(options.env_file, self.env)
        options.airflow_home.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / "00-airflow-db-migrate.log"
        self.say(f"{number}/{total} Airflow metadata DB (SQLite in {self.shown(options.airflow_home)})")
        self.say(f"    $ {display_command(['db', 'migrate'])}")
        migrated = run_airflow(["db", "migrate"], self.env, log_path, timeout=600, cwd=options.repo)
        if migrated.returncode != 0:
            raise DemoError(f"airflow db migrate failed (exit code {migrated.returncode}); see {log_path}")
        self.say(f"    migrated in {migrated.seconds:.1f} s; log {self.shown(log_path)}")

    def run_steps(self, steps: list[DagStep], first: int, total: int) -> None:
        for number, step in enumerate(steps, start=first):
            self.say(f"{number}/{total} {step.ship}: {step.title}")
            log_path = self.log_dir / step.log_name(number)
            record = run_step(
                step,
                env=self.env,
                log_path=log_path,
                shown_log_path=self.shown(log_path),
                say=self.say,
                timeout=self.options.dag_timeout,
                cwd=self.options.repo,
            )
            check = STAND_IN_CHECKS.get(step.ship)
            if check is not None:
                record.checks.append(check(self.stand_in, self.registry))
                self.say(f"    stand-in {record.checks[-1]}")
            self.result.runs.append(record)

    def collect(self) -> dict[str, Any]:
        """Read the runs back (DB, snapshots, queues, index); returns sample messages per queue."""
        runs = self.result.runs
        if runs:
            self.say("reading the runs back from the metadata DB")
            pairs = [(r.dag_id, r.run_id) for r in runs if r.run_id]
            found = collect_results(pairs, self.env, self.log_dir / "results-reader.log")
            for record in runs:
                record.result = found.get(record.run_id or "", {})
                self._enrich(record)
        self.result.queues = self.stand_in.queue_depths()
        location = self.configuration.account_index_location
        try:
            raw = read_bytes(location, self.stand_in.client("s3") if location.is_s3 else None)
            self.result.index = index_facts(raw, self.stand_in.fixture)
        except (LocationError, ValueError, KeyError) as exc:
            self.index_note = f"cannot read it: {exc}"
        self.result.seconds = self.say.elapsed
        summary_path = self.log_dir / "summary.json"
        summary_path.write_text(json.dumps(self.result.to_dict(), indent=2, default=str), encoding="utf-8")
        return {name: self.stand_in.peek(name) for name, depth in self.result.queues.items() if depth["visible"]}

    def _enrich(self, record: RunRecord) -> None:
        """The targets' spread from the run's snapshot; the run's report saved as JSON next to its log."""
        summary = record.result.get("summary") or {}
        loaded = self.registry.get(record.ship)
        if summary.get("snapshot") and loaded is not None and summary.get("total_targets"):
            try:
                record.targets = target_spread(
                    summary["snapshot"], loaded.ship_class, lambda: self.stand_in.client("s3")
                )
            except Exception as exc:  # a detail of the summary must not hide the summary
                record.targets = {"error": f"{type(exc).__name__}: {exc}"}
        report = record.result.get("report")
        if report:
            path = self.log_dir / f"{Path(record.log_path).stem}-report.json"
            path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
            record.report_path = self.shown(path)

    def print_summary(self, samples: dict[str, Any]) -> None:
        result = self.result
        queue_names = {queue.owner: queue.name for queue in self.stand_in.queues.values()}
        if not result.runs:
            verdict = "no DAG runs (--skip-runs)"
        else:
            verdict = "every DAG run succeeded" if result.ok else "SOME RUNS FAILED"
        lines = ["", "=" * 100, f"Summary ({result.seconds:.0f} s): {verdict}", ""]
        for number, record in enumerate(result.runs, start=1):
            lines += [*render_run(number, record, queue_names), ""]
        lines += [*render_queues(result.queues, sent_per_queue(result.runs, queue_names), samples), ""]
        index_location = str(self.configuration.account_index_location)
        lines += [*render_index(index_location, result.index, self.index_note), ""]
        lines.append(f"Full logs and reports: {self.shown(result.log_dir)}/ (summary.json holds all of the above)")
        lines += ["", *self.ui_lines(), "=" * 100]
        for line in lines:
            self.say(line, stamp=False)

    def ui_lines(self) -> list[str]:
        options = self.options
        passwords = self.shown(options.airflow_home / "simple_auth_manager_passwords.json.generated")
        port_flag = "" if options.port == 5000 else f" --port {options.port}"
        first = (
            "The AWS stand-in keeps running (Ctrl-C here stops it). In a second terminal:"
            if options.serve
            else f"Airflow UI on this setup: keep the AWS stand-in up with `scripts/demo.sh --serve{port_flag}`"
            " (runs the demo again; add --skip-runs to only seed it), then in a second terminal:"
        )
        return [
            first,
            f"   cd {shlex.quote(str(options.repo))} && source {self.shown(options.env_file)} && airflow standalone",
            f"   open http://localhost:8080 (user admin; password printed by standalone, kept in {passwords})",
            "   The DAGs are paused there: Trigger runs one now (with params); unpausing lets its schedule run.",
        ]

    def serve_until_interrupted(self) -> None:
        stopped = threading.Event()
        handlers = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.say("serving the AWS stand-in until Ctrl-C")
            stopped.wait()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        self.say("stopping the AWS stand-in")


def run_demo(options: DemoOptions, say: Printer | None = None) -> DemoResult:
    """The whole demo; returns what happened (``summary.json`` in the log folder holds the same)."""
    from starfleet_airflow.config import load_configuration
    from starfleet_airflow.registry import load_ships

    say = say or Printer()
    if not (options.repo / "dags" / "starfleet_dags.py").is_file():
        raise DemoError(f"{options.repo}: expected a starfleet-airflow checkout (dags/starfleet_dags.py)")
    configuration = load_configuration(options.config)
    if configuration.errors:
        raise DemoError("the configuration has problems:\n" + "\n".join(map(str, configuration.errors)))
    registry = load_ships(configuration)
    if registry.errors:
        raise DemoError("ships that cannot be loaded:\n" + "\n".join(map(str, registry.errors)))
    steps = [] if options.skip_runs else plan_steps(registry, options.ships)
    total = len(steps) + 2
    log_dir = new_log_dir(options.state)
    say(f"starfleet-airflow demo: configuration {options.config}, logs in {log_dir}")

    say(f"1/{total} AWS stand-in: moto on {options.endpoint} (in this process, fresh state)")
    with environment(stand_in_process_environment(options.endpoint)):
        stand_in = start_stand_in(
            configuration,
            registry,
            host=options.host,
            port=options.port,
            n_accounts=options.accounts,
            seed=options.seed,
        )
        try:
            session = _Session(options, configuration, registry, stand_in, log_dir, say)
            session.describe_stand_in()
            session.prepare_airflow(2, total)
            session.run_steps(steps, 3, total)
            session.print_summary(session.collect())
            if options.serve:
                session.serve_until_interrupted()
        finally:
            stand_in.stop()
    return session.result


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> DemoOptions:
    parser = argparse.ArgumentParser(
        prog="scripts/demo.sh",
        description="Run the real DAGs of the embedded default through Airflow against a local AWS stand-in"
        " (moto); no AWS account is used. See docs/demo.md.",
    )
    parser.add_argument("--port", type=int, default=5000, help="port of the AWS stand-in on 127.0.0.1 (default 5000)")
    parser.add_argument(
        "--accounts", type=int, default=60, help="member accounts to seed (default 60, plus the management account)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the organisation's shape and ids (default 0)")
    parser.add_argument(
        "--ships", default=",".join(DEFAULT_SHIPS), help="ships to run, in order (default: %(default)s)"
    )
    parser.add_argument("--config-dir", type=Path, help="configuration folder (default: config/ of the checkout)")
    parser.add_argument(
        "--state-dir", type=Path, help="Airflow home, logs and env file go here (default: .starfleet/ of the checkout)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="keep the AWS stand-in running afterwards, for the Airflow UI"
    )
    parser.add_argument("--skip-runs", action="store_true", help="seed the stand-in and prepare Airflow, run no DAG")
    parser.add_argument(
        "--dag-timeout", type=float, default=DEFAULT_DAG_TIMEOUT, help="seconds one DAG run may take (default 1200)"
    )
    args = parser.parse_args(argv)
    if args.accounts < 1:
        parser.error("--accounts: expected at least 1")
    return DemoOptions(
        config_dir=args.config_dir,
        state_dir=args.state_dir,
        port=args.port,
        accounts=args.accounts,
        seed=args.seed,
        ships=tuple(name.strip() for name in args.ships.split(",") if name.strip()),
        serve=args.serve,
        skip_runs=args.skip_runs,
        dag_timeout=args.dag_timeout,
    )


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code 0 when every DAG run succeeded, 1 when one failed, 2 when the demo could not run."""
    options = parse_args(argv)
    say = Printer()
    # SIGTERM ends the demo like Ctrl-C: the running Airflow command (its own process group) and the
    # stand-in are stopped on the way out instead of being left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a script
        signal.signal(signal.SIGINT, _interrupt)
    try:
        result = run_demo(options, say)
    except DemoError as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover - command-line entry
    raise SystemExit(main())
