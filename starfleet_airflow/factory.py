"""The DAG factory: one Airflow DAG per enabled worker ship.

``build_dags`` reads the configuration folder and the ships (local files and imports only: parsing
makes no network call and reads no template or index), then builds for each ship a DAG of three steps:

``plan`` -> ``deliver`` (dynamically mapped over work units) -> ``report``

* ``plan`` reads the account index and the ship's templates (S3 through the Amazon provider's
  ``S3Hook``, or local files), validates each template once, resolves and narrows the targets, stores
  one content-addressed snapshot of its inputs and returns small work-unit descriptors.
* ``deliver`` re-derives its slice of targets from the snapshot and sends SQS messages or runs the
  ship inline (see ``starfleet_airflow.delivery``); it returns counts and per-target failures.
* ``report`` prints one row per target (failures always, successes up to a limit), returns the table
  as its XCom, and fails the run when the failures exceed the ship's ``FailureTolerance``.

Retries (``Airflow.Retries``) re-run a whole task. A retried SQS unit sends its messages again: FIFO
queues drop the duplicates (deterministic deduplication ids), standard queues may deliver a target
twice, which Starfleet's worker model already expects (SQS delivers at least once; ships converge state).

A ship whose code or configuration cannot be loaded becomes a placeholder DAG
(``<dag_id>__broken``, tag ``broken``) whose description and documentation carry the exact message
and whose only task fails with it: Airflow reports import errors per file, so raising here would hide
every ship of the folder behind one broken one.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from starfleet_airflow.config import Configuration, load_configuration
from starfleet_airflow.gc_pause import collector_paused
from starfleet_airflow.registry import LoadedShip, ShipProblem, load_ships
from starfleet_airflow.schedules import build_schedule, describe_schedule, wants_s3_events
from starfleet_airflow.schemas import AirflowShipOptions
from starfleet_airflow.ship import DeliveryMode, FanOutStrategy, RunContext

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import DAG

    from starfleet_airflow.locations import Location
    from starfleet_airflow.plan import SnapshotView

log = logging.getLogger(__name__)

DAG_ID_PREFIX = "starfleet_"
BROKEN_SUFFIX = "__broken"
BROKEN_TAG = "broken"
# Fixed, in the past: with catchup off the scheduler starts from the latest interval; backfills may
# reach back to here.
START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
UNIT_LABEL_KEY = "starfleet_unit_label"
DESCRIPTION_LIMIT = 1_000


# --------------------------------------------------------------------------------------------------
# Names and documentation
# --------------------------------------------------------------------------------------------------


def dag_id_for(ship_name: str) -> str:
    """``IamRoleWorkerShip`` -> ``starfleet_iam_role_worker_ship`` (stable: it keys the run history)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", ship_name).lower()
    snake = re.sub(r"[^a-z0-9_]+", "_", snake).strip("_")
    return DAG_ID_PREFIX + (snake or "ship")


def _yaml(data: Any) -> str:
    """YAML for the DAG docs, through libyaml when PyYAML has it (4x faster: it runs for every ship at parse)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _docstring(cls: type) -> str:
    import inspect

    return inspect.getdoc(cls) or f"{cls.__name__} (no docstring)"


def _effective_options(loaded: LoadedShip, configuration: Configuration) -> dict[str, Any]:
    """The ``Airflow`` options with defaults applied, as YAML keys (what the run really uses)."""
    options = AirflowShipOptions().dump(loaded.airflow_options)
    tolerance = loaded.airflow_options["failure_tolerance"]
    options["FailureTolerance"] = f"{tolerance['percent']}%" if "percent" in tolerance else tolerance.get("count", 0)
    if not options.get("AwsConnId"):
        options["AwsConnId"] = f"{configuration.starfleet.get('aws_conn_id', 'aws_default')} (STARFLEET.AwsConnId)"
    return options


def ship_doc_md(loaded: LoadedShip, configuration: Configuration, schedule_text: str) -> str:
    """The DAG's documentation: the ship's docstring, what starts it, and its effective configuration."""
    options = loaded.airflow_options
    section = _yaml({loaded.name: loaded.raw_section})
    effective = _yaml({"Airflow (effective)": _effective_options(loaded, configuration)})
    commit_note = (
        "`commit` applies to inline runs; an SQS-fed ship Lambda takes it from its `STARFLEET_COMMIT`"
        " environment variable, as in Starfleet."
        if options["delivery_mode"] is DeliveryMode.SQS
        else "`commit` is passed to the ship's `execute(commit)`; false is a dry run."
    )
    narrowing = {
        FanOutStrategy.SINGLE_INVOCATION: "`templates`",
        FanOutStrategy.ACCOUNT: "`templates`, `accounts` (ids or names)",
        FanOutStrategy.ACCOUNT_REGION: "`templates`, `accounts` (ids or names), `regions`",
    }[loaded.fan_out_strategy]
    return "\n".join(
        [
            f"# {loaded.name}",
            "",
            _docstring(loaded.ship_class),
            "",
            f"* **Fan-out:** {loaded.fan_out_strategy.value}",
            f"* **Delivery:** {options['delivery_mode'].value}"
            + (
                f" to `{loaded.configuration.get('invocation_queue_url')}`"
                if options["delivery_mode"] is DeliveryMode.SQS
                else ""
            ),
            f"* **Runs:** {schedule_text}",
            f"* **Templates:** `{loaded.configuration['template_prefix']}` under `{configuration.template_location}`",
            f"* **Account index:** `{configuration.account_index_location}`",
            f"* **Configuration file:** `{loaded.source_file}`",
            "",
            f"Trigger with parameters to narrow a run (never to widen it): {narrowing}. {commit_note}",
            "",
            "## Configuration",
            "",
            "```yaml",
            section.rstrip(),
            effective.rstrip(),
            "```",
        ]
    )


# Param schemas name their JSON Schema dialect: Airflow validates every param of a scheduled DAG at parse
# time, and checking a schema against draft-07's meta-schema costs a quarter of the default 2020-12's
# (measured: 0.19 ms vs 0.83 ms per param, which is most of a 50-ship parse). The schemas use nothing newer.
_DIALECT = {"$schema": "http://json-schema.org/draft-07/schema#"}


def _params(loaded: LoadedShip) -> dict[str, Any]:
    from airflow.sdk import Param

    strategy = loaded.fan_out_strategy
    string_list = {"type": "array", "items": {"type": "string"}, **_DIALECT}
    params: dict[str, Any] = {
        "commit": Param(
            bool(loaded.airflow_options["default_commit"]),
            type="boolean",
            **_DIALECT,
            title="Commit",
            description="Make changes (true) or only report what would change (false, a dry run).",
        ),
        "templates": Param(
            [],
            title="Templates",
            description="Only these templates (key, file name or TemplateName). Empty: all of the ship's templates.",
            **string_list,
        ),
    }
    if strategy is not FanOutStrategy.SINGLE_INVOCATION:
        params["accounts"] = Param(
            [],
            title="Accounts",
            description="Only these accounts (12-digit ids or account names), each selected by the templates.",
            **string_list,
        )
    if strategy is FanOutStrategy.ACCOUNT_REGION:
        params["regions"] = Param(
            [],
            title="Regions",
            description="Only these regions, each selected by the templates.",
            **string_list,
        )
    return params


# --------------------------------------------------------------------------------------------------
# Run-time helpers (called inside the tasks, never at parse time)
# --------------------------------------------------------------------------------------------------


def _s3_client(aws_conn_id: str | None, region_name: str | None) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=aws_conn_id, region_name=region_name).get_conn()


def _store_client_factory(configuration: Configuration) -> Any:
    """A lazy S3 client for templates, index and snapshots (STARFLEET.AwsConnId), made at most once."""
    cache: dict[str, Any] = {}

    def make() -> Any:
        if "client" not in cache:
            cache["client"] = _s3_client(
                configuration.starfleet.get("aws_conn_id"), configuration.starfleet.get("deployment_region")
            )
        return cache["client"]

    return make


def _ship_conn_id(loaded: LoadedShip) -> str | None:
    return loaded.airflow_options.get("aws_conn_id") or loaded.starfleet_configuration.get("aws_conn_id")


def _max_map_length() -> int:
    from starfleet_airflow.airflow_compat import conf

    return conf.getint("core", "max_map_length", fallback=1024)


def run_context_from(context: Mapping[str, Any], **extra: Any) -> RunContext:
    """The ship's view of the Airflow run: run id, logical date and data interval."""
    return RunContext(
        dag_run_id=context.get("run_id"),
        logical_date=context.get("logical_date"),
        data_interval_start=context.get("data_interval_start"),
        data_interval_end=context.get("data_interval_end"),
        extra={"invoked_by": "airflow", "dag_id": getattr(context.get("dag"), "dag_id", None), **extra},
    )


def template_keys_for_run(
    context: Mapping[str, Any], loaded: LoadedShip, configuration: Configuration
) -> Collection[str] | None:
    """Template keys a run is restricted to, or None for "every template of the ship".

    A run started by the template events asset (the S3 invocation source) renders only the templates
    its triggering asset events name under the ship's ``TemplatePrefix``; scheduled, manual and
    backfill runs render every template.
    """
    from starfleet_airflow.template_events import template_keys_from_events

    return template_keys_from_events(context.get("triggering_asset_events"), loaded, configuration)


def _read_index(location: Location, store_client: Callable[[], Any]) -> dict[str, Any]:
    """The account index JSON as stored (read errors propagate: Airflow retries what may be transient)."""
    from starfleet_airflow.airflow_compat import AirflowFailException
    from starfleet_airflow.locations import read_bytes

    raw = read_bytes(location, store_client() if location.is_s3 else None)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise AirflowFailException(f"account index {location}: not valid JSON ({exc})") from exc


def plan_task(loaded: LoadedShip, configuration: Configuration, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``plan`` task: read, validate, narrow, resolve, snapshot, cut; returns the work units.

    The summary (templates, invalid ones, notes) and the snapshot location go out as extra XComs.
    """
    from starfleet_airflow.account_index import AccountIndexError
    from starfleet_airflow.airflow_compat import AirflowFailException
    from starfleet_airflow.plan import Narrowing, PlanError, PlanRefused, plan_run
    from starfleet_airflow.snapshot import write_snapshot
    from starfleet_airflow.templates import TemplateStore

    root, index_location = configuration.template_location, configuration.account_index_location
    snapshot_root = configuration.snapshot_location
    if root is None or index_location is None or snapshot_root is None:
        raise AirflowFailException("configuration problems:\n" + "\n".join(map(str, configuration.errors)))
    params = context.get("params") or {}
    try:
        narrowing = Narrowing.from_params(params)
    except PlanRefused as exc:
        raise AirflowFailException(f"refused: {exc}") from exc

    store_client = _store_client_factory(configuration)
    # A SINGLE_INVOCATION ship has one target and no use for the index; the index generator is one, and
    # it must be able to run before any index exists.
    single = loaded.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION
    index_data = {"accounts": {}} if single else _read_index(index_location, store_client)
    store = TemplateStore(root, store_client() if root.is_s3 else None)
    templates = store.load_all(loaded.configuration["template_prefix"])

    try:
        run_plan = plan_run(
            loaded.ship_class,
            index_data=index_data,
            index_source=str(index_location),
            templates=templates,
            template_prefix=loaded.configuration["template_prefix"],
            delivery_mode=loaded.airflow_options["delivery_mode"],
            max_units=_max_map_length(),
            narrowing=narrowing,
            scope_to_regions=configuration.starfleet.get("scope_to_regions") or (),
            include_inactive=bool(configuration.starfleet.get("include_inactive_accounts")),
            targets_per_unit=loaded.airflow_options.get("targets_per_unit"),
            only_template_keys=template_keys_for_run(context, loaded, configuration),
        )
    except PlanRefused as exc:
        raise AirflowFailException(f"refused: {exc}") from exc
    except (PlanError, AccountIndexError) as exc:  # a retry in a minute would read the same inputs
        raise AirflowFailException(str(exc)) from exc
    location = write_snapshot(run_plan.snapshot, snapshot_root, store_client() if snapshot_root.is_s3 else None)
    commit = bool(params.get("commit", loaded.airflow_options["default_commit"]))
    if (
        loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS
        and commit != loaded.airflow_options["default_commit"]
    ):
        run_plan.notes.append(
            f"commit={commit} does not travel with SQS messages: the ship's Lambda decides from STARFLEET_COMMIT"
        )
    summary = run_plan.summary(location, commit=commit, delivery_mode=loaded.airflow_options["delivery_mode"].value)
    log.info(
        "%s: %d targets in %d work units from %d templates (%d invalid); snapshot %s",
        loaded.name,
        run_plan.total_targets,
        len(run_plan.units),
        len(run_plan.templates),
        len(run_plan.invalid),
        location,
    )
    for invalid in run_plan.invalid:
        log.error("%s: template %s is invalid: %s", loaded.name, invalid.key, "; ".join(invalid.errors))
    ti = context["ti"]
    ti.xcom_push(key="summary", value=summary)
    ti.xcom_push(key="snapshot", value=location)
    return [unit.to_dict() for unit in run_plan.units]  # mapped over by deliver: its return_value


def _view(loaded: LoadedShip, configuration: Configuration, snapshot_location: str) -> SnapshotView:
    from starfleet_airflow.plan import snapshot_view
    from starfleet_airflow.snapshot import load_snapshot

    snapshot = load_snapshot(snapshot_location, _store_client_factory(configuration))
    return snapshot_view(snapshot, loaded.ship_class, source=snapshot_location)


def deliver_task(
    loaded: LoadedShip, configuration: Configuration, unit: Mapping[str, Any], snapshot: str, context: Any
) -> dict[str, Any]:
    """One mapped ``deliver`` task."""
    from starfleet_airflow.delivery import deliver_unit
    from starfleet_airflow.delivery.inline import aws_session_factory
    from starfleet_airflow.delivery.sqs import sqs_client
    from starfleet_airflow.plan import WorkUnit

    work = WorkUnit.from_dict(unit)
    context[UNIT_LABEL_KEY] = work.label  # rendered by map_index_template
    view = _view(loaded, configuration, snapshot)
    params = context.get("params") or {}
    conn_id = _ship_conn_id(loaded)
    concurrency = loaded.airflow_options["concurrency"]
    result = deliver_unit(
        loaded,
        work,
        view,
        commit=bool(params.get("commit", loaded.airflow_options["default_commit"])),
        run_context=run_context_from(context, account_index=view.index, template=work.template),
        sqs_client_factory=lambda queue_url: sqs_client(queue_url, conn_id, concurrency),
        session_factory=aws_session_factory(conn_id, configuration.starfleet.get("deployment_region")),
    )
    log.info(
        "%s: %d delivered, %d failed (%d calls, %d retried entries)",
        work.label,
        result.succeeded,
        result.failed,
        result.calls,
        result.retried,
    )
    for error, positions in result.failures.items():
        log.error("%s: %d targets failed: %s", work.label, len(positions), error)
    return result.to_dict()


def report_task(loaded: LoadedShip, configuration: Configuration, results: Any, context: Any) -> dict[str, Any]:
    """The ``report`` task: the table, the XCom, the verdict."""
    from starfleet_airflow.airflow_compat import AirflowFailException
    from starfleet_airflow.report import build_report

    ti = context["ti"]
    summary = ti.xcom_pull(task_ids="plan", key="summary")
    units = ti.xcom_pull(task_ids="plan")
    if summary is None or units is None:
        raise AirflowFailException(f"{loaded.name}: the plan task did not finish; its log says why")
    view = _view(loaded, configuration, summary["snapshot"]) if units else None
    # One slice request for every mapped result (iterating would ask item by item, then log an "error"
    # for the index past the end).
    values = list(results[:]) if results is not None else []
    report = build_report(
        summary,
        units,
        [r for r in values if r],
        tolerance=loaded.airflow_options["failure_tolerance"],
        targets_of=(lambda key: view.targets(key)) if view else (lambda key: []),
        name_of=(lambda account_id: view.index.name_of(account_id)) if view else (lambda account_id: account_id),
    )
    log.info("%s report\n%s", loaded.name, report.table())
    if not report.ok:
        # The XCom is pushed before failing, so the table stays available to the UI and callers.
        ti.xcom_push(key="report", value=report.to_dict())
        raise AirflowFailException(report.verdict())
    return report.to_dict()


# --------------------------------------------------------------------------------------------------
# DAGs
# --------------------------------------------------------------------------------------------------


def build_ship_dag(loaded: LoadedShip, configuration: Configuration, *, template_events_asset: Any = None) -> DAG:
    """The DAG of one enabled ship."""
    from airflow.sdk import DAG, XComArg, get_current_context, task

    from starfleet_airflow.airflow_compat import TriggerRule

    options = loaded.airflow_options
    schedule_text = describe_schedule(loaded.configuration, template_events_asset=template_events_asset)
    default_args: dict[str, Any] = {
        "owner": "starfleet",
        "retries": options["retries"],
        "retry_delay": timedelta(seconds=options["retry_delay_seconds"]),
    }
    if options.get("pool"):
        default_args["pool"] = options["pool"]
    first_line = (_docstring(loaded.ship_class).splitlines() or [""])[0]

    with DAG(
        dag_id=dag_id_for(loaded.name),
        description=f"{loaded.name}: {first_line}"[:DESCRIPTION_LIMIT],
        doc_md=ship_doc_md(loaded, configuration, schedule_text),
        schedule=build_schedule(loaded.configuration, template_events_asset=template_events_asset),
        start_date=START_DATE,
        catchup=False,
        auto_register=False,  # only what build_dags returns is a DAG (never a half-built one)
        max_active_runs=options["max_active_runs"],
        default_args=default_args,
        params=_params(loaded),
        tags=[
            "starfleet",
            loaded.name,
            loaded.fan_out_strategy.value,
            f"delivery:{options['delivery_mode'].value}",
        ],
    ) as dag:

        @task(task_id="plan")
        def plan() -> list[dict[str, Any]]:
            return plan_task(loaded, configuration, get_current_context())

        @task(task_id="deliver", map_index_template="{{ " + UNIT_LABEL_KEY + " }}")
        def deliver(unit: dict[str, Any], snapshot: str) -> dict[str, Any]:
            return deliver_task(loaded, configuration, unit, snapshot, get_current_context())

        @task(task_id="report", trigger_rule=TriggerRule.ALL_DONE, retries=0)
        def report(results: Any) -> dict[str, Any]:
            return report_task(loaded, configuration, results, get_current_context())

        units = plan()
        snapshot = XComArg(units.operator, key="snapshot")
        report(deliver.partial(snapshot=snapshot).expand(unit=units))
    return dag


def build_broken_dag(dag_id: str, title: str, messages: list[str]) -> DAG:
    """A placeholder that makes a load failure visible in the UI and fails with it when triggered."""
    from airflow.sdk import DAG, task

    from starfleet_airflow.airflow_compat import AirflowFailException

    text = "\n".join(messages)
    doc = "\n".join(
        [
            f"# {title}: BROKEN",
            "",
            "This ship could not be loaded, so it has no runs until the problem is fixed:",
            "",
            "```",
            text,
            "```",
            "",
            "`starfleet-airflow validate` reports the same problems.",
        ]
    )
    with DAG(
        dag_id=dag_id,
        description=f"BROKEN {title}: {text}"[:DESCRIPTION_LIMIT],
        doc_md=doc,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        auto_register=False,
        tags=["starfleet", BROKEN_TAG, title],
    ) as dag:

        @task(task_id="explain_problem", retries=0)
        def explain_problem() -> None:
            raise AirflowFailException(f"{title} cannot run:\n{text}")

        explain_problem()
    return dag


def _problems_by_ship(problems: list[ShipProblem]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        grouped[problem.ship].append(str(problem))
    return grouped


def build_dags(
    config_dir: Path | str | None = None,
    ships_dir: Path | str | None = None,
    *,
    template_events_asset: Any = None,
) -> dict[str, DAG]:
    """Every DAG of the deployment, keyed by dag_id; never raises for a ship or configuration problem.

    ``config_dir`` defaults to ``$STARFLEET_CONFIG_DIR`` then ``./config``; ``ships_dir`` to
    ``$STARFLEET_SHIPS_DIR`` then the installed ``ships`` package. ``template_events_asset`` is the
    shared asset of template S3 events (ships listing ``S3`` are scheduled on it).
    """
    with collector_paused():  # about a third of a 50-ship parse was collections of Airflow objects
        return _build_dags(config_dir, ships_dir, template_events_asset)


def _build_dags(
    config_dir: Path | str | None, ships_dir: Path | str | None, template_events_asset: Any
) -> dict[str, DAG]:
    configuration = load_configuration(config_dir)
    dags: dict[str, DAG] = {}
    if not configuration.starfleet:
        messages = [str(problem) for problem in configuration.errors] or ["the STARFLEET section is missing"]
        log.error("starfleet configuration %s is unusable:\n%s", configuration.config_dir, "\n".join(messages))
        dag = build_broken_dag(DAG_ID_PREFIX + "configuration" + BROKEN_SUFFIX, "STARFLEET configuration", messages)
        return {dag.dag_id: dag}
    if configuration.errors:
        # Files that failed to parse: the ships they configure are missing; say so in one place.
        messages = [str(problem) for problem in configuration.errors]
        log.error("starfleet configuration problems:\n%s", "\n".join(messages))
        dag = build_broken_dag(DAG_ID_PREFIX + "configuration" + BROKEN_SUFFIX, "configuration files", messages)
        dags[dag.dag_id] = dag

    registry = load_ships(configuration, Path(ships_dir) if ships_dir else None)
    if template_events_asset is None and any(wants_s3_events(s.configuration) for s in registry.ships.values()):
        from starfleet_airflow.template_events import template_events_asset as build_asset

        template_events_asset = build_asset(configuration)
    for name, loaded in sorted(registry.ships.items()):
        try:
            dag = build_ship_dag(loaded, configuration, template_events_asset=template_events_asset)
        except Exception as exc:  # a DAG that cannot be built must not hide the others
            log.exception("starfleet: cannot build the DAG of %s", name)
            dag = build_broken_dag(
                dag_id_for(name) + BROKEN_SUFFIX, name, [f"cannot build the DAG: {type(exc).__name__}: {exc}"]
            )
        dags[dag.dag_id] = dag
    for ship, messages in sorted(_problems_by_ship(registry.errors).items()):
        log.error("starfleet ship %s cannot be loaded:\n%s", ship, "\n".join(messages))
        dag = build_broken_dag(dag_id_for(ship) + BROKEN_SUFFIX, ship, messages)
        dags[dag.dag_id] = dag
    return dags
