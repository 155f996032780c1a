"""Why a run cannot be planned: a trigger the plan must not honour, or a configuration it cannot serve."""

from __future__ import annotations


class PlanRefused(Exception):
    """The trigger asked for something the plan must not do (a user error: retrying will not help)."""


class PlanError(Exception):
    """The run cannot be planned as configured (e.g. more templates than Airflow can map)."""
