"""The DAG of one enabled ship: ``plan`` -> ``deliver`` (mapped over work units) -> ``report``.

Retries (``Airflow.Retries``) re-run a whole task. A retried SQS unit sends its messages again: FIFO
queues drop the duplicates (deterministic deduplication ids), standard queues may deliver a target
twice, which Starfleet's worker model already expects (SQS delivers at least once; ships converge state).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starfleet_airflow.airflow.docs import ship_doc_md
from starfleet_airflow.airflow.naming import (
    DESCRIPTION_LIMIT,
    PLAN_OUTCOME_KEY,
    START_DATE,
    UNIT_LABEL_KEY,
    dag_id_for,
    docstring_of,
)
from starfleet_airflow.airflow.notifications import run_failure_callback
from starfleet_airflow.airflow.params import ship_params
from starfleet_airflow.airflow.schedules import build_schedule, describe_schedule, timed_frequency
from starfleet_airflow.airflow.starfleet_task import starfleet_task
from starfleet_airflow.airflow.tasks.stopping import no_retry_policy
from starfleet_airflow.core.config import Configuration
from starfleet_airflow.core.registry import LoadedShip

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import DAG


def _params(loaded: LoadedShip) -> dict[str, Any]:
    """The trigger form (a reviewed ship's says what ``commit`` means there)."""
    if not loaded.airflow_options["review"]:
        return ship_params(loaded)
    from starfleet_airflow.airflow.review.flow import review_params

    return review_params(ship_params(loaded))


def build_ship_dag(loaded: LoadedShip, configuration: Configuration, *, template_events_asset: Any = None) -> DAG:
    """The DAG of one enabled ship (``template_events_asset``: the shared S3-events asset, if any)."""
    from airflow.sdk import DAG, get_current_context, task

    from starfleet_airflow.airflow.compat import TriggerRule

    options = loaded.airflow_options
    schedule_text = describe_schedule(loaded.configuration, template_events_asset=template_events_asset)
    schedule = build_schedule(loaded.configuration, template_events_asset=template_events_asset)
    dag_id = dag_id_for(loaded.name)
    timed = timed_frequency(loaded.configuration) is not None  # unpausing creates the missed tick's run
    default_args: dict[str, Any] = {
        "owner": "starfleet",
        "retries": options["retries"],
        "retry_delay": timedelta(seconds=options["retry_delay_seconds"]),
    }
    for key in ("pool", "queue", "executor"):  # optional Airflow section keys Pool, Queue, Executor
        if options.get(key):
            default_args[key] = options[key]
    first_line = (docstring_of(loaded.ship_class).splitlines() or [""])[0]
    policy = no_retry_policy()  # a refused run fails at once, in one line (tasks/stopping.py)
    no_retry = {"retry_policy": policy} if policy is not None else {}

    with DAG(
        dag_id=dag_id,
        description=f"{loaded.name}: {first_line}"[:DESCRIPTION_LIMIT],
        doc_md=ship_doc_md(loaded, configuration, schedule_text, dag_id=dag_id if timed else ""),
        schedule=schedule,
        # A manual-only ship has nothing to run on its own: created unpaused, its triggers run without the
        # form's "Unpause on trigger". Scheduled ships follow the deployment's dags_are_paused_at_creation.
        is_paused_upon_creation=False if schedule is None else None,
        start_date=START_DATE,
        catchup=False,
        auto_register=False,  # only what build_dags returns is a DAG (never a half-built one)
        max_active_runs=options["max_active_runs"],
        # A reviewed run also waits for its approver (at most ReviewTimeoutSeconds) on top of its work.
        dagrun_timeout=timedelta(
            seconds=options["run_timeout_seconds"] + (options["review_timeout_seconds"] if options["review"] else 0)
        ),
        default_args=default_args,
        on_failure_callback=run_failure_callback(loaded),
        params=_params(loaded),
        tags=[
            "starfleet",
            loaded.name,
            loaded.fan_out_strategy.value,
            f"delivery:{options['delivery_mode'].value}",
            *(["reviewed"] if options["review"] else []),
        ],
    ) as dag:
        # multiple_outputs=False everywhere: a ``-> dict`` annotation would make Airflow push one XCom row
        # per key besides return_value (12 for a deliver result, ~19 ms each). Rows per task: plan 2
        # (the units, each naming the snapshot and its slice of it; the summary), deliver 1, report 1.
        @task(
            task_id="plan",
            multiple_outputs=False,
            map_index_template="{{ " + PLAN_OUTCOME_KEY + " | default('') }}",
            execution_timeout=timedelta(seconds=options["plan_timeout_seconds"]),
            **no_retry,
        )
        def plan() -> list[dict[str, Any]]:
            # Task bodies import what they run when they run: parsing the DAG file never pays for them.
            from starfleet_airflow.airflow.tasks.plan import plan_task

            with starfleet_task(loaded, configuration):
                return plan_task(loaded, configuration, get_current_context())

        @task(
            task_id="deliver",
            multiple_outputs=False,
            map_index_template="{{ " + UNIT_LABEL_KEY + " }}",
            execution_timeout=timedelta(seconds=options["deliver_timeout_seconds"]),
        )
        def deliver(unit: dict[str, Any]) -> dict[str, Any]:
            from starfleet_airflow.airflow.tasks.deliver import deliver_task

            with starfleet_task(loaded, configuration):
                return deliver_task(loaded, configuration, unit, get_current_context())

        @task(
            task_id="report",
            trigger_rule=TriggerRule.ALL_DONE,
            retries=0,
            multiple_outputs=False,
            execution_timeout=timedelta(seconds=options["report_timeout_seconds"]),
            **no_retry,
        )
        def report(results: Any) -> dict[str, Any]:
            from starfleet_airflow.airflow.tasks.report import report_task

            with starfleet_task(loaded, configuration):
                return report_task(loaded, configuration, results, get_current_context())

        units = plan()
        if options["review"]:  # plan -> dry_run -> review -> approve -> apply -> report
            from starfleet_airflow.airflow.review.flow import build_reviewed_flow

            build_reviewed_flow(loaded, configuration, units)
        else:
            report(deliver.expand(unit=units))
    return dag
