"""Inline delivery: run the ship itself for every target of a unit, inside the Airflow worker.

Targets run concurrently up to ``Airflow.Concurrency`` threads. Each target gets a fresh ship instance
through ``runner.run_ship_for_target`` (the same path as the CLI and the Lambda handler), which turns
any exception into a recorded outcome: one target's failure never stops the others. Each target has
``Airflow.TargetTimeoutSeconds``: one still running then is reported ``timed out`` and left behind on a
daemon thread (``bounded_threads``), so a hung ship never holds its deliver task.

boto3 sessions are not thread-safe, so each sending thread gets its own session from
``session_factory`` (the Airflow connection's credentials), created once per thread and reused for the
targets that thread runs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starfleet_airflow.core.outcomes import FAILED, TIMED_OUT, TargetOutcome
from starfleet_airflow.core.runner import run_ship_for_target
from starfleet_airflow.delivery.bounded_threads import run_with_limits

if TYPE_CHECKING:  # pragma: no cover - typing only
    from starfleet_airflow.core.registry import LoadedShip
    from starfleet_airflow.core.ship import RunContext

log = logging.getLogger(__name__)

DETAIL_LIMIT = 4_000  # characters of a target's detail kept in the XCom; the rest is in the task log


def compact_detail(detail: Any) -> Any:
    """The ship's returned detail, made JSON-able and cut to ``DETAIL_LIMIT`` characters of JSON."""
    if detail is None:
        return None
    try:
        text = json.dumps(detail, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(detail))
    if len(text) <= DETAIL_LIMIT:
        return json.loads(text)
    return text[:DETAIL_LIMIT] + f"... ({len(text) - DETAIL_LIMIT} more characters in the task log)"


def run_targets(
    loaded_ship: LoadedShip,
    raw_template: dict[str, Any],
    template_key: str,
    targets: Sequence[tuple[str | None, str | None]],
    *,
    commit: bool,
    run_context: RunContext,
    session_factory: Callable[[], Any] | None,
    concurrency: int,
    target_timeout: float,
) -> list[TargetOutcome]:
    """Run the ship for each target, concurrently, each within ``target_timeout`` seconds.

    Outcomes come back in the order of ``targets``; a target still running at its limit is ``timed out``.
    """
    local = threading.local()

    def session() -> Any:
        if session_factory is None:
            return None
        if not hasattr(local, "session"):
            local.session = session_factory()
        return local.session

    def one(target: tuple[str | None, str | None]) -> TargetOutcome:
        account_id, region = target
        try:
            return run_ship_for_target(
                loaded_ship,
                raw_template,
                account_id,
                region,
                commit,
                run_context=run_context,
                aws_session=session(),
                template=template_key,
            )
        except Exception as exc:  # the runner never raises; a session that cannot be built might
            log.exception("%s: %s for %s/%s failed", loaded_ship.name, template_key, account_id, region)
            return TargetOutcome(template_key, account_id, region, FAILED, f"{type(exc).__name__}: {exc}")

    def timed_out(target: tuple[str | None, str | None]) -> TargetOutcome:
        account_id, region = target
        log.error(
            "%s: %s for %s/%s timed out after %g s", loaded_ship.name, template_key, account_id, region, target_timeout
        )
        return TargetOutcome(
            template_key,
            account_id,
            region,
            TIMED_OUT,
            f"timed out after {target_timeout:g} s (Airflow.TargetTimeoutSeconds); the ship may have made some"
            " of its changes",
        )

    return run_with_limits(
        targets, one, workers=concurrency, limit_seconds=target_timeout, on_timeout=timed_out, name="ship"
    )
