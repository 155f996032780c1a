"""When a ship's DAG runs: Starfleet's invocation sources as Airflow schedules.

Starfleet fires EventBridge rules at fixed frequencies. Here each frequency is a cron expression
evaluated in UTC, wrapped in a ``CronDataIntervalTimetable`` so that every run has a real data interval
(the period since the previous tick): ships that report on a time window read it from their
``RunContext``, and a backfill over a range creates one run per interval.

==================  ==================  =============================================
EventBridge name    cron (UTC)          runs
==================  ==================  =============================================
FIVE_MIN            ``*/5 * * * *``     every 5 minutes
FIFTEEN_MIN         ``*/15 * * * *``    every 15 minutes
THIRTY_MIN          ``*/30 * * * *``    every 30 minutes
HOURLY              ``0 * * * *``       on the hour
SIX_HOURLY          ``0 */6 * * *``     00:00, 06:00, 12:00, 18:00
TWELVE_HOURLY       ``0 */12 * * *``    00:00, 12:00
DAILY               ``0 0 * * *``       midnight
==================  ==================  =============================================

A ship is scheduled on time only when ``InvocationSources`` lists ``EVENTBRIDGE_TIMED_EVENT`` (as in
Starfleet, a frequency alone starts nothing). A ship listing ``S3`` is also scheduled on the template
events asset when the caller passes one. With neither, the DAG is manual only (``schedule=None``).
All schedule construction lives in ``build_schedule`` so that there is one place to change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starfleet_airflow.core.enums import EventBridgeFrequency, InvocationSource

FREQUENCY_CRON: dict[EventBridgeFrequency, str] = {
    EventBridgeFrequency.FIVE_MIN: "*/5 * * * *",
    EventBridgeFrequency.FIFTEEN_MIN: "*/15 * * * *",
    EventBridgeFrequency.THIRTY_MIN: "*/30 * * * *",
    EventBridgeFrequency.HOURLY: "0 * * * *",
    EventBridgeFrequency.SIX_HOURLY: "0 */6 * * *",
    EventBridgeFrequency.TWELVE_HOURLY: "0 */12 * * *",
    EventBridgeFrequency.DAILY: "0 0 * * *",
}
SCHEDULE_TIMEZONE = "UTC"


def _as_frequency(value: Any) -> EventBridgeFrequency | None:
    if value is None or isinstance(value, EventBridgeFrequency):
        return value
    return EventBridgeFrequency(str(value))


def _sources(configuration: dict[str, Any]) -> set[InvocationSource]:
    return {s if isinstance(s, InvocationSource) else InvocationSource(str(s)) for s in _iter(configuration)}


def _iter(configuration: dict[str, Any]) -> Iterable[Any]:
    return configuration.get("invocation_sources") or ()


def timed_frequency(configuration: dict[str, Any]) -> EventBridgeFrequency | None:
    """The frequency that schedules this ship, or None when it is not timed.

    ``configuration`` is the ship's validated section (snake_case keys).
    """
    if InvocationSource.EVENTBRIDGE_TIMED_EVENT not in _sources(configuration):
        return None
    return _as_frequency(configuration.get("eventbridge_timed_frequency"))


def wants_s3_events(configuration: dict[str, Any]) -> bool:
    """Whether the ship lists the S3 invocation source (runs when one of its templates changes)."""
    return InvocationSource.S3 in _sources(configuration)


def build_schedule(configuration: dict[str, Any], *, template_events_asset: Any = None) -> Any:
    """The ``schedule=`` argument of the ship's DAG.

    ``template_events_asset`` is the shared Airflow asset fed by the template bucket's S3 event
    notifications; it is used only when the ship lists ``S3`` in ``InvocationSources``. Time and asset
    together give an ``AssetOrTimeSchedule`` (either starts a run).
    """
    from starfleet_airflow.airflow.compat import AssetOrTimeSchedule, CronDataIntervalTimetable

    frequency = timed_frequency(configuration)
    timetable = CronDataIntervalTimetable(FREQUENCY_CRON[frequency], timezone=SCHEDULE_TIMEZONE) if frequency else None
    asset = template_events_asset if template_events_asset is not None and wants_s3_events(configuration) else None
    if timetable is not None and asset is not None:
        return AssetOrTimeSchedule(timetable=timetable, assets=asset)
    if asset is not None:
        return asset
    return timetable


def describe_schedule(configuration: dict[str, Any], *, template_events_asset: Any = None) -> str:
    """One line for the DAG's documentation: what starts this ship's runs."""
    parts = []
    frequency = timed_frequency(configuration)
    if frequency:
        parts.append(f"{frequency.value} (cron `{FREQUENCY_CRON[frequency]}` UTC, with data intervals)")
    if wants_s3_events(configuration):
        if template_events_asset is not None:
            parts.append("S3: a template under the ship's TemplatePrefix is created or updated")
        else:
            parts.append("S3 listed, but STARFLEET.TemplateEventsQueueUrl is not set: no S3-triggered runs")
    if not parts:
        return "manual triggers only (no EVENTBRIDGE_TIMED_EVENT or S3 invocation source)"
    return "; ".join(parts) + "; manual triggers too"
