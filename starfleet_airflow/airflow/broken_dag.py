"""Placeholder DAGs for ships that cannot be loaded or built.

Airflow reports import errors per DAG file, so raising while building would hide every ship of the
folder behind one broken one. Instead the broken ship becomes ``<dag_id>__broken`` (tag ``broken``),
whose description and documentation carry the exact message and whose only task fails with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starfleet_airflow.airflow.naming import BROKEN_TAG, DESCRIPTION_LIMIT, START_DATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    from airflow.sdk import DAG


def build_broken_dag(dag_id: str, title: str, messages: list[str]) -> DAG:
    """A placeholder that makes a load failure visible in the UI and fails with it when triggered."""
    from airflow.sdk import DAG, task

    from starfleet_airflow.airflow.compat import AirflowFailException

    text = "\n".join(messages)
    doc = "\n".join(
        [
            f"# {title}: BROKEN",
            "",
            "This ship could not be loaded, so it has no runs until the problem is fixed:",
            "",
            "```",
            text,
            "```",
            "",
            "`starfleet-airflow validate` reports the same problems.",
        ]
    )
    with DAG(
        dag_id=dag_id,
        description=f"BROKEN {title}: {text}"[:DESCRIPTION_LIMIT],
        doc_md=doc,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        auto_register=False,
        tags=["starfleet", BROKEN_TAG, title],
    ) as dag:

        @task(task_id="explain_problem", retries=0)
        def explain_problem() -> None:
            raise AirflowFailException(f"{title} cannot run:\n{text}")

        explain_problem()
    return dag
