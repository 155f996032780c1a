"""Reviewed runs in Airflow: the DAG shape (``flow``), the task bodies (``tasks``), the approval operator
(``approval``, imported only where Airflow has human-in-the-loop operators: ``availability``) and the
DAG documentation (``docs``). The Airflow-free parts are in ``starfleet_airflow.core.review``.
"""
