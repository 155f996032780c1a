"""The Airflow layer: the core's model rendered as Airflow DAGs.

DAG building (one DAG per ship, broken-ship placeholders), the task bodies (plan, deliver, report),
trigger params, DAG documentation, schedules, the template-events asset, clients from Airflow
connections, and the names that moved between Airflow versions. The only package (with the tools and
the development tools) allowed to import Airflow.
"""
