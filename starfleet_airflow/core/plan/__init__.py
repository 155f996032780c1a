"""Plan a run: the ship's templates against the account index, narrowed, cut into work units.

Pure functions over already-loaded inputs (no Airflow, no AWS): the factory's ``plan`` task reads the
index and the templates, calls ``plan_run``, stores the returned snapshot, and hands the mapped
``deliver`` tasks the work units, which are small descriptors (template key and a slice of its target
list), never the targets themselves. The plan stores each unit's targets as its own part of the
snapshot (``core.snapshot``), so a deliver task reads its share only; ``unit_targets`` re-derives a
slice from a whole snapshot (the report, and units planned before snapshots had parts).

Work units keep the number of mapped task instances bounded:

* never more than ``max_units`` (Airflow's ``core.max_map_length``, read when the run starts);
* inline delivery: whole accounts per unit, one each up to 32 accounts of a template (in the order of
  account names), then groups of accounts (at most 32 tasks per template); otherwise contiguous chunks
  of the target list;
* SQS delivery: chunks of ``TargetsPerUnit`` targets (default 10,000), grown when needed to fit;
* SINGLE_INVOCATION: one unit per template.

Narrowing (manual trigger params) only ever removes targets: every account, region and template the
trigger names must be one the run would reach anyway, or the plan is refused with a message saying
which value and why.

The package keeps one module per job (narrowing, snapshot view, work units and their labels, the plan) and
re-exports their public names here.
"""

from starfleet_airflow.core.plan.errors import PlanError, PlanRefused
from starfleet_airflow.core.plan.labels import LABEL_LIMIT, account_label, unit_label
from starfleet_airflow.core.plan.narrowing import Narrowing
from starfleet_airflow.core.plan.run_plan import InvalidTemplate, PlannedTemplate, RunPlan, plan_run
from starfleet_airflow.core.plan.units import (
    DEFAULT_SQS_TARGETS_PER_UNIT,
    WorkUnit,
    cut_units,
    unit_targets,
)
from starfleet_airflow.core.plan.view import SnapshotView, snapshot_view

__all__ = [
    "DEFAULT_SQS_TARGETS_PER_UNIT",
    "LABEL_LIMIT",
    "InvalidTemplate",
    "Narrowing",
    "PlanError",
    "PlanRefused",
    "PlannedTemplate",
    "RunPlan",
    "SnapshotView",
    "WorkUnit",
    "account_label",
    "cut_units",
    "plan_run",
    "snapshot_view",
    "unit_label",
    "unit_targets",
]
