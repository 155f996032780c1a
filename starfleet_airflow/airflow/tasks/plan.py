"""The ``plan`` task: read the index and the templates, validate, narrow, resolve, snapshot, cut.

It returns the work-unit descriptors (mapped over by ``deliver``; each names the run's snapshot) and
pushes the run summary as the one other XCom. Refusals and inputs that a retry would read the same way fail the
task without retries (``stopping.stop_run``); read errors propagate, so Airflow retries what may be
transient.

A run that cannot go on says why in one line, first in the task's log and in the run's note
(``run_notes``): ``refused: account sandbox-040 (036020245307) is not selected by ...``, and the task
fails without a retry or a traceback wall (``stopping``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn

from starfleet_airflow.airflow.connections import store_client_factory
from starfleet_airflow.airflow.executors import placement_problems
from starfleet_airflow.airflow.naming import LABEL_LIMIT, PLAN_OUTCOME_KEY
from starfleet_airflow.airflow.tasks.context import commit_of, max_map_length, template_keys_for_run
from starfleet_airflow.airflow.tasks.stopping import RunStopped, stop_run
from starfleet_airflow.aws.locations import Location, LocationError, read_bytes
from starfleet_airflow.core.account_index import AccountIndexError
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.index_plugins import (
    AccountIndexPluginError,
    AccountIndexPluginFailure,
    load_plugin_index_data,
)
from starfleet_airflow.core.plan import Narrowing, PlanError, PlanRefused, plan_run
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.snapshot import store_snapshot
from starfleet_airflow.core.snapshot_retention import prune_snapshots
from starfleet_airflow.core.templates import TemplateStore
from starfleet_airflow.core.text import plural

log = logging.getLogger(__name__)


def _read_index(location: Location, store_client: Callable[[], Any]) -> bytes:
    """The account index bytes as stored (read errors propagate: Airflow retries what may be transient).

    Parsed by ``plan_run`` (an invalid index raises ``AccountIndexError``, which fails the task).
    """
    return read_bytes(location, store_client() if location.is_s3 else None)


def _stop(context: Any, reason: str) -> NoReturn:
    """Stop the run (``stop_run``: first log line, run note, no retry) with ``reason`` as the task's label too."""
    _outcome(context, reason)
    stop_run(context, reason, logger=log)


def _plugin_index(name: str, raw_templates: list[Any], context: Any) -> dict[str, Any]:
    """The account-index plugin's answers for this run's templates, in Starfleet's index format."""
    try:
        return load_plugin_index_data(name, raw_templates)
    except AccountIndexPluginFailure:
        raise  # the plugin's own failure may be transient: Airflow retries
    except AccountIndexPluginError as exc:  # no such plugin, or not Starfleet's interface: a retry reads the same
        _stop(context, str(exc))


def _prune(
    loaded: LoadedShip, configuration: Configuration, root: Location, keep: str, store_client: Callable[[], Any]
) -> None:
    """Snapshot retention after storing this run's; a failure to prune is logged, never fails the plan."""
    try:
        deleted = prune_snapshots(
            root,
            loaded.name,
            keep_latest=configuration.starfleet.get("snapshot_keep_latest", 10),
            max_age_days=configuration.starfleet.get("snapshot_max_age_days", 30),
            s3_client=store_client() if root.is_s3 else None,
            keep=keep,
        )
    except LocationError as exc:
        log.warning("%s: could not prune old run snapshots: %s", loaded.name, exc)
        return
    if deleted:
        log.info("%s: pruned %s past STARFLEET.SnapshotMaxAgeDays", loaded.name, plural(len(deleted), "run snapshot"))


def _outcome(context: Any, text: str) -> str:
    """Put the plan's one-line outcome where its label (map_index_template) is rendered from."""
    line = " ".join(text.split())
    context[PLAN_OUTCOME_KEY] = line if len(line) <= LABEL_LIMIT else line[: LABEL_LIMIT - 1] + "\u2026"
    return text


def plan_task(loaded: LoadedShip, configuration: Configuration, context: Any) -> list[dict[str, Any]]:
    """Plan one run of ``loaded``; returns the work units as dicts.

    Whatever it fails with, the first line of the reason becomes the task's label, so the UI and the REST
    API (``rendered_map_index``) say why without a log; a refusal is also the run's note (``stop_run``).
    """
    from starfleet_airflow.airflow.compat import AirflowFailException

    try:
        return _plan(loaded, configuration, context)
    except RunStopped:
        raise  # the label is the reason already (_stop)
    except Exception as exc:
        _outcome(context, f"{type(exc).__name__}: {exc}" if not isinstance(exc, AirflowFailException) else str(exc))
        raise


def _plan(loaded: LoadedShip, configuration: Configuration, context: Any) -> list[dict[str, Any]]:
    root, index_location = configuration.template_location, configuration.account_index_location
    snapshot_root = configuration.snapshot_location
    if root is None or not configuration.has_account_index or snapshot_root is None:
        _stop(context, "configuration problems: " + "; ".join(map(str, configuration.errors)))
    placement = placement_problems(configuration, [loaded])
    if placement:  # refused before anything is read or written: never a missing file in a later task
        _stop(context, "refused: " + "; ".join(map(str, placement)))
    params = context.get("params") or {}
    try:
        narrowing = Narrowing.from_params(params)
    except PlanRefused as exc:
        _stop(context, f"refused: {exc}")

    store_client = store_client_factory(configuration)
    # A SINGLE_INVOCATION ship has one target and no use for the index; the index generator is one, and
    # it must be able to run before any index exists.
    single = loaded.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION
    store = TemplateStore(root, store_client() if root.is_s3 else None)
    templates = store.load_all(loaded.configuration["template_prefix"])
    index_data: dict[str, Any] | bytes
    if single:
        index_data = b'{"accounts":{}}'
    elif configuration.account_index_plugin:
        index_data = _plugin_index(configuration.account_index_plugin, [t.raw for t in templates if t.raw], context)
    else:
        assert index_location is not None  # has_account_index: a location or a plugin
        index_data = _read_index(index_location, store_client)

    try:
        run_plan = plan_run(
            loaded.ship_class,
            index_data=index_data,
            index_source=str(index_location or f"account-index plugin {configuration.account_index_plugin}"),
            templates=templates,
            template_prefix=loaded.configuration["template_prefix"],
            delivery_mode=loaded.airflow_options["delivery_mode"],
            max_units=max_map_length(),
            narrowing=narrowing,
            scope_to_regions=configuration.starfleet.get("scope_to_regions") or (),
            include_inactive=bool(configuration.starfleet.get("include_inactive_accounts")),
            targets_per_unit=loaded.airflow_options.get("targets_per_unit"),
            only_template_keys=template_keys_for_run(context, loaded, configuration),
            index_max_age_hours=configuration.starfleet.get("account_index_max_age_hours", 72),
        )
    except PlanRefused as exc:
        _stop(context, f"refused: {exc}")
    except (PlanError, AccountIndexError) as exc:  # a retry in a minute would read the same inputs
        _stop(context, str(exc))
    stored = store_snapshot(
        run_plan.snapshot,
        snapshot_root,
        store_client() if snapshot_root.is_s3 else None,
        unit_targets=run_plan.unit_targets(),
    )
    location = stored.location
    _prune(loaded, configuration, snapshot_root, location, store_client)
    commit = commit_of(context, loaded)
    if (
        loaded.airflow_options["delivery_mode"] is DeliveryMode.SQS
        and commit != loaded.airflow_options["default_commit"]
    ):
        run_plan.notes.append(
            f"commit={commit} does not travel with SQS messages: the ship's Lambda decides from STARFLEET_COMMIT"
        )
    summary = run_plan.summary(location, commit=commit, delivery_mode=loaded.airflow_options["delivery_mode"].value)
    log.info(
        "%s: %s in %s from %s (%d invalid); snapshot %s",
        loaded.name,
        plural(run_plan.total_targets, "target"),
        plural(len(run_plan.units), "work unit"),
        plural(len(run_plan.templates), "template"),
        len(run_plan.invalid),
        location,
    )
    for invalid in run_plan.invalid:
        log.error(
            "%s: invalid template %s: %s", loaded.name, invalid.location or invalid.key, "; ".join(invalid.errors)
        )
    invalid = f", {len(run_plan.invalid)} invalid" if run_plan.invalid else ""
    _outcome(
        context,
        f"{plural(run_plan.total_targets, 'target')} in {plural(len(run_plan.units), 'work unit')}"
        f" from {plural(len(run_plan.templates), 'template')}{invalid}",
    )
    context["ti"].xcom_push(key="summary", value=summary)
    # Mapped over by deliver (its return_value): each descriptor names the snapshot and the two parts of
    # it that its deliver task reads (the header, its own targets).
    header = stored.header.to_list()
    return [
        {**unit.to_dict(), "snapshot": location, "header": header, "targets": part.to_list()}
        for unit, part in zip(run_plan.units, stored.units, strict=True)
    ]
