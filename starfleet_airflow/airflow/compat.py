"""The few Airflow names whose home moved between Airflow 3.0 (MWAA's 3.0.6) and 3.3.

Airflow 3.1+ exports them from ``airflow.sdk``; 3.0 keeps them in older modules. Import them from here
(``from starfleet_airflow.airflow.compat import TriggerRule``) and one DAG file works on both. Names are
resolved on first access (PEP 562), so importing this module costs nothing at parse time.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> modules to try, newest home first
_HOMES: dict[str, tuple[str, ...]] = {
    "AirflowFailException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSkipException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "TriggerRule": ("airflow.sdk", "airflow.utils.trigger_rule"),
    "conf": ("airflow.sdk", "airflow.configuration"),
    "AssetOrTimeSchedule": ("airflow.sdk", "airflow.timetables.assets"),
    "CronDataIntervalTimetable": ("airflow.sdk", "airflow.timetables.interval"),
    # Airflow's rule for which names hold secrets ([core] sensitive_var_conn_names adds to it).
    "should_hide_value_for_key": ("airflow.sdk._shared.secrets_masker", "airflow.sdk.execution_time.secrets_masker"),
}

__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    homes = _HOMES.get(name)
    if homes is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module_name in homes:
        try:
            value = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        globals()[name] = value  # cache: the next access is a plain attribute
        return value
    raise ImportError(f"{name} is in none of {', '.join(homes)}; is Airflow 3 installed?")
