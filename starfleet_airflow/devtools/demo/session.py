"""One demo run: the stand-in up, Airflow prepared, each ship's DAG run, the summary printed."""

from __future__ import annotations

import json
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

from starfleet_airflow.aws.locations import LocationError, read_bytes
from starfleet_airflow.devtools.demo.airflow_cli import display_command, run_airflow
from starfleet_airflow.devtools.demo.airflow_env import demo_environment, write_env_file
from starfleet_airflow.devtools.demo.options import DemoOptions, DemoResult, Printer, new_log_dir
from starfleet_airflow.devtools.demo.results import collect_results
from starfleet_airflow.devtools.demo.steps import STAND_IN_CHECKS, DagStep, plan_steps, run_step
from starfleet_airflow.devtools.demo.summary import (
    RunRecord,
    index_facts,
    region_spread,
    render_index,
    render_queues,
    render_run,
    sent_per_queue,
    target_spread,
)
from starfleet_airflow.devtools.stand_in.ports import DemoError
from starfleet_airflow.devtools.stand_in.server import (
    StandIn,
    environment,
    stand_in_process_environment,
    start_stand_in,
)


def shown_path(path: Path, repo: Path) -> str:
    """A path as the user would type it from the checkout (never this machine's absolute path when avoidable)."""
    for base in (Path.cwd(), repo):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


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
        return shown_path(path, self.options.repo)

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
        if self.stand_in.managed_policies:
            say(f"    policies AWS-managed, as the templates attach them: {', '.join(self.stand_in.managed_policies)}")
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
            pairs = [(r.dag_id, r.run_id, self.log_dir / Path(r.log_path).name) for r in runs if r.run_id]
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
            lines += [*render_run(number, record, queue_names, lambda path: self.shown(Path(path))), ""]
        lines += [*render_queues(result.queues, sent_per_queue(result.runs, queue_names), samples), ""]
        location = self.configuration.account_index_location
        index_location = str(location) if location is None or location.is_s3 else self.shown(Path(str(location)))
        lines += [*render_index(index_location, result.index, self.index_note), ""]
        lines.append(f"Full logs and reports: {self.shown(result.log_dir)}/ (summary.json holds all of the above)")
        lines += ["", *self.ui_lines(), "=" * 100]
        for line in lines:
            self.say(line, stamp=False)

    def ui_lines(self) -> list[str]:
        options = self.options
        passwords = self.shown(options.airflow_home / "simple_auth_manager_passwords.json.generated")
        port_flag = "" if options.port == 5000 else f" --port {options.port}"
        in_checkout = Path.cwd().resolve() == options.repo.resolve()
        cd = "" if in_checkout else f"cd {shlex.quote(str(options.repo))} && "
        first = (
            "The AWS stand-in keeps running (Ctrl-C here stops it). In a second terminal:"
            if options.serve
            else f"Airflow UI on this setup: keep the AWS stand-in up with `scripts/demo.sh --serve{port_flag}`"
            " (runs the demo again; add --skip-runs to only seed it), then in a second terminal:"
        )
        return [
            first,
            f"   {cd}source {self.shown(options.env_file)} && airflow standalone",
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
    from starfleet_airflow.core.config import load_configuration
    from starfleet_airflow.core.registry import load_ships

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
    say(
        f"starfleet-airflow demo: configuration {shown_path(options.config, options.repo)},"
        f" logs in {shown_path(log_dir, options.repo)}"
    )

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
