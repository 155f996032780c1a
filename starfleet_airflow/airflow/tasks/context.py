"""What every task body reads from Airflow: the run's context, the trigger's params, runtime settings.

Called inside the tasks only, never at parse time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from starfleet_airflow.airflow.connections import store_client_factory
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.plan import SnapshotView, snapshot_view
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.ship import RunContext
from starfleet_airflow.core.snapshot import load_snapshot


def run_context_from(context: Mapping[str, Any], **extra: Any) -> RunContext:
    """The ship's view of the Airflow run: run id, logical date and data interval."""
    return RunContext(
        dag_run_id=context.get("run_id"),
        logical_date=context.get("logical_date"),
        data_interval_start=context.get("data_interval_start"),
        data_interval_end=context.get("data_interval_end"),
        extra={"invoked_by": "airflow", "dag_id": getattr(context.get("dag"), "dag_id", None), **extra},
    )


def commit_of(context: Mapping[str, Any], loaded: LoadedShip) -> bool:
    """The run's ``commit``: the trigger's param, else the ship's ``Airflow.DefaultCommit``."""
    params = context.get("params") or {}
    return bool(params.get("commit", loaded.airflow_options["default_commit"]))


def max_map_length() -> int:
    """Airflow's ``core.max_map_length``, read when the run starts (a deployment may raise it)."""
    from starfleet_airflow.airflow.compat import conf

    return conf.getint("core", "max_map_length", fallback=1024)


def template_keys_for_run(
    context: Mapping[str, Any], loaded: LoadedShip, configuration: Configuration
) -> Collection[str] | None:
    """Template keys a run is restricted to, or None for "every template of the ship".

    A run started by the template events asset (the S3 invocation source) renders only the templates
    its triggering asset events name under the ship's ``TemplatePrefix``; scheduled, manual and
    backfill runs render every template.
    """
    from starfleet_airflow.airflow.template_events import template_keys_from_events

    return template_keys_from_events(context.get("triggering_asset_events"), loaded, configuration)


def view_of_snapshot(loaded: LoadedShip, configuration: Configuration, snapshot_location: str) -> SnapshotView:
    """The run's snapshot, read through the per-process cache, as a view for this ship."""
    snapshot = load_snapshot(snapshot_location, store_client_factory(configuration))
    return snapshot_view(snapshot, loaded.ship_class, source=snapshot_location)
