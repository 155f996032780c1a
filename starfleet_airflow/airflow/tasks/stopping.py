"""How a task stops a run that cannot go on: one line saying why, no retry, no traceback wall.

A refused trigger is an expected outcome, not a crash. Airflow's task runner logs every exception with
its whole traceback (a dozen frames of its own machinery under the reason), except ``SystemExit``,
which it logs as one line and then treats like any failure: retried while retries remain, unless the
task's retry policy says to fail now. So where Airflow has retry policies (3.3 here) the task logs the
reason, raises ``RunStopped`` (a ``SystemExit``) and its policy fails it at once; where it has none
(MWAA's 3.0.6) it raises ``AirflowFailException``, which fails it at once, with the traceback.

Either way the reason is the task's first log line and goes to the run's note (``run_notes``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any, NoReturn

from starfleet_airflow.airflow.naming import RUN_NOTE_KEY

log = logging.getLogger(__name__)
NO_RETRY_REASON = "the run cannot go on: a retry would read the same trigger and inputs"


class RunStopped(SystemExit, Exception):
    """The task stops the run on purpose; its reason is already logged (see the module docstring).

    A ``SystemExit`` for the one-line failure; an ``Exception`` too, because the task runner renders a failed
    task's label (``map_index_template``: the plan's reason, ``rendered_map_index`` in the REST API) only
    for an ``Exception``. It still ends in the runner's ``SystemExit`` branch: no traceback.
    """


@cache
def no_retry_policy() -> Any | None:
    """A retry policy failing ``RunStopped`` at once, or None when this Airflow has no retry policies."""
    try:
        from airflow.sdk.definitions.retry_policy import ExceptionRetryPolicy, RetryAction, RetryRule
    except ImportError:
        return None
    return ExceptionRetryPolicy(
        rules=[RetryRule(exception=RunStopped, action=RetryAction.FAIL, reason=NO_RETRY_REASON)]
    )


def stop_run(context: Mapping[str, Any], reason: str, *, logger: logging.Logger = log, note: bool = True) -> NoReturn:
    """Fail the task with ``reason`` as its log line (and the run's note unless ``note`` is false)."""
    from starfleet_airflow.airflow.compat import AirflowFailException

    logger.error("%s", reason)
    if note:
        context["ti"].xcom_push(key=RUN_NOTE_KEY, value=reason)
    if no_retry_policy() is not None:
        raise RunStopped(1)
    raise AirflowFailException(reason) from None
