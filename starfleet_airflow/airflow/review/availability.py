"""Is reviewed mode available on this Airflow? It needs the standard provider's human-in-the-loop operators.

Those came with Airflow 3.1 (and the standard provider 1.5). On Airflow 3.0 (MWAA 3.0.6 pins the standard
provider 1.6.0) the module exists but raises ``AirflowOptionalProviderFeatureException`` when imported,
which is not an ``ImportError``, so both are caught. ``airflow.exceptions`` is that class's one home on
3.0, and re-exports the same class on 3.1+.

Asked only when a ship wants reviewed mode (at DAG build and by ``validate``): the operators' import is
kept off every other ship's parse.
"""

from __future__ import annotations

import functools


@functools.cache
def review_unavailable() -> str | None:
    """Why reviewed mode cannot run here (one sentence), or None when it can."""
    try:
        from airflow.exceptions import AirflowOptionalProviderFeatureException
    except ImportError as exc:  # pragma: no cover - Airflow itself is missing
        return f"Airflow is not importable ({exc})"
    try:
        from airflow.providers.standard.operators.hitl import ApprovalOperator  # noqa: F401
    except (ImportError, AirflowOptionalProviderFeatureException) as exc:
        from airflow import __version__

        return (
            f"reviewed mode (Airflow.Review: true) needs Airflow 3.1+ with the standard provider's human-in-the-loop"
            f" operators; this is Airflow {__version__} ({type(exc).__name__}: {exc})"
        )
    return None


class ReviewUnavailableError(RuntimeError):
    """A ship asks for reviewed mode on an Airflow without human-in-the-loop operators."""


def require_review(ship: str, source_file: object) -> None:
    """Raise ``ReviewUnavailableError`` naming the ship, its file and the fix, when reviewed mode cannot run."""
    why = review_unavailable()
    if why is not None:
        raise ReviewUnavailableError(
            f"{source_file}: {ship}.Airflow.Review: {why}. The ship's DAG is not built, so its changes never run"
            " unreviewed; set Review: false, or run Airflow 3.1+ (MWAA 3.3.1)"
        )
