"""The Airflow-free core: Starfleet's model and everything computed from it.

Ship contract, schemas, configuration, account index, resolution, templates, ship registry, run plans
and work units, run snapshots, message rendering, per-target running and the run report. Nothing in
this package imports Airflow (an import-linter contract checks it), so the CLI, the Lambda side and
the tests use the same code the DAGs run.
"""
