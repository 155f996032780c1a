"""Names the Airflow layer gives things: DAG ids, tags, the placeholder suffix, label keys.

A ship's ``dag_id`` keys its run history, so it derives from the ship name by one stable rule.
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timezone

DAG_ID_PREFIX = "starfleet_"
BROKEN_SUFFIX = "__broken"
BROKEN_TAG = "broken"
# Fixed, in the past: with catchup off the scheduler starts from the latest interval; backfills may
# reach back to here.
START_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
UNIT_LABEL_KEY = "starfleet_unit_label"  # the deliver task puts its unit's label here for map_index_template
# The plan task's one-line outcome ("1121 targets in 12 work units ...", "refused: ..."), shown as its label
# (map_index_template) in the UI and as ``rendered_map_index`` in the REST API: the reason without a log.
PLAN_OUTCOME_KEY = "starfleet_plan_outcome"
LABEL_LIMIT = 250  # Airflow's rendered_map_index column
RUN_NOTE_KEY = "run_note"  # XCom of plan (why it refused) and report (the verdict); run_notes copies it
DESCRIPTION_LIMIT = 1_000


def dag_id_for(ship_name: str) -> str:
    """``IamRoleWorkerShip`` -> ``starfleet_iam_role_worker_ship`` (stable: it keys the run history)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", ship_name).lower()
    snake = re.sub(r"[^a-z0-9_]+", "_", snake).strip("_")
    return DAG_ID_PREFIX + (snake or "ship")


def dag_id_collisions(ship_names: Iterable[str]) -> dict[str, list[str]]:
    """DAG ids that several ship names map to (``IAMRoleShip`` and ``IamRoleShip``), with those names."""
    by_id: dict[str, list[str]] = defaultdict(list)
    for name in sorted(set(ship_names)):
        by_id[dag_id_for(name)].append(name)
    return {dag_id: names for dag_id, names in by_id.items() if len(names) > 1}


def collision_message(dag_id: str, ship_names: list[str]) -> str:
    """What ``validate`` and the broken DAG say about a DAG id several ships map to."""
    names = ", ".join(ship_names[:-1]) + f" and {ship_names[-1]}"
    return f"{names} both map to the DAG id {dag_id}; expected one ship per DAG id (rename one of the ship classes)"


def docstring_of(cls: type) -> str:
    """A class's docstring, or a line saying it has none (for DAG descriptions and docs)."""
    return inspect.getdoc(cls) or f"{cls.__name__} (no docstring)"
