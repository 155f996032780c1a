"""Targets 4 and 5 on the production stack (issue 9: Celery with two workers, PostgreSQL, Redis).

The stack is ``scripts/stack.sh up``; it writes ``.starfleet/stack/stack.env`` with the api-server's URL
and credentials. Until the stack has landed on main, this section says so and measures nothing: the
figures are then pending, never guessed.
"""

from __future__ import annotations

from pathlib import Path

from starfleet_airflow.devtools.benchmarks.common import Figure

REPO = Path(__file__).resolve().parents[3]
STACK_ENV = REPO / ".starfleet" / "stack" / "stack.env"
STACK_SCRIPT = REPO / "scripts" / "stack.sh"


def section_stack(repeat: int) -> list[Figure]:
    if not STACK_SCRIPT.exists():
        reason = "scripts/stack.sh is not in this checkout yet (issue 9)"
    elif not STACK_ENV.exists():
        reason = f"the stack is not up ({STACK_ENV.relative_to(REPO)} missing): run scripts/stack.sh up"
    else:
        reason = "runs on the stack are not wired into this benchmark yet"
    return [
        Figure(
            "4. on the stack (Celery, two workers): 85,000 messages at 15 ms per call, first deliver start to last"
            " deliver end <= 5 s",
            f"PENDING: {reason}",
            "Starfleet's serial send 144.4 s",
            None,
        ),
        Figure("5. (stack half) inline, 500 accounts, no-op ship: <= 20 s per run", f"PENDING: {reason}", "-", None),
    ]
