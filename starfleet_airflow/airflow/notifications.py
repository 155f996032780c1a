"""When a ship's run fails, tell someone: Airflow notifiers (Slack, SNS) as the DAG's ``on_failure_callback``.

A run fails when its report exceeds the failure tolerance, when the plan refuses it (a widening trigger, an
unreadable index) or when a task crashes; every case fails the DAG run, and Airflow then calls the DAG's failure
callbacks (the scheduler hands them to the DAG processor; ``dag.test()`` runs them in process). The notifiers
are the providers' own: ``SlackNotifier`` (an Airflow Slack API connection) and ``SnsNotifier`` (an AWS
connection). ``STARFLEET.FailureNotifications`` applies to every ship; a ship's ``Airflow.FailureNotifications``
replaces it (``[]``: none for that ship). One notifier failing never keeps the others from being told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starfleet_airflow.airflow.connections import ship_conn_id
from starfleet_airflow.core.registry import LoadedShip

log = logging.getLogger(__name__)

SNS_SUBJECT_LIMIT = 100


def failure_notifications(loaded: LoadedShip) -> list[dict[str, Any]]:
    """The ship's ``Airflow.FailureNotifications`` when set (even ``[]``), else ``STARFLEET.FailureNotifications``."""
    own = loaded.airflow_options.get("failure_notifications")
    if own is not None:
        return list(own)
    return list(loaded.starfleet_configuration.get("failure_notifications") or [])


def _report_verdict(ti: Any) -> str | None:
    """The report's verdict when the report task pushed its table before failing; None when it cannot be read."""
    if ti is None:
        return None
    try:
        report = ti.xcom_pull(task_ids="report", key="report")
    except Exception:  # the callback's context may have no XCom access; the notice still goes out
        return None
    return report.get("verdict") if isinstance(report, Mapping) else None


def failure_notice(loaded: LoadedShip, context: Mapping[str, Any]) -> tuple[str, str]:
    """A subject line and a short plain-text message naming the ship, the run and what failed."""
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or "?"
    run_id = context.get("run_id") or "?"
    ti = context.get("ti")
    subject = f"Starfleet: the {loaded.name} run failed"
    lines = [f"{loaded.name}: run {run_id} of {dag_id} failed ({context.get('reason') or 'failed'})."]
    if ti is not None and getattr(ti, "task_id", None):
        lines.append(f"Failed task: {ti.task_id}.")
    verdict = _report_verdict(ti)
    if verdict:
        lines.append(f"Report: {verdict}")
    lines.append("The run's task logs in the Airflow UI say why.")
    return subject, "\n".join(lines)


def _notifier(entry: Mapping[str, Any], loaded: LoadedShip, subject: str, message: str) -> Any:
    if entry.get("slack"):
        from airflow.providers.slack.notifications.slack import SlackNotifier

        slack = entry["slack"]
        return SlackNotifier(
            slack_conn_id=slack["slack_conn_id"],
            channel=slack["channel"],
            text=f"*{subject}*\n{message}",
            username="starfleet-airflow",
        )
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    sns = entry["sns"]
    region = sns.get("region_name") or sns["target_arn"].split(":")[3] or None
    return SnsNotifier(
        aws_conn_id=sns.get("aws_conn_id") or ship_conn_id(loaded),
        target_arn=sns["target_arn"],
        subject=subject[:SNS_SUBJECT_LIMIT],
        message=message,
        region_name=region,
    )


def run_failure_callback(loaded: LoadedShip) -> Callable[[Mapping[str, Any]], None] | None:
    """The DAG's ``on_failure_callback`` (None when nothing is configured: no callback, no provider import)."""
    notifications = failure_notifications(loaded)
    if not notifications:
        return None

    def notify_failure(context: Mapping[str, Any]) -> None:
        subject, message = failure_notice(loaded, context)
        for entry in notifications:
            kind = "Slack" if entry.get("slack") else "SNS"
            try:
                # notify(), not __call__: the message is built here, so nothing is left for Jinja to render
                # (and dag.test hands callbacks a serialized DAG that has no template environment).
                _notifier(entry, loaded, subject, message).notify(context)
            except Exception as exc:  # one notifier's failure must not silence the others
                log.error(
                    "%s: the %s failure notification was not sent: %s: %s", loaded.name, kind, type(exc).__name__, exc
                )

    return notify_failure
