"""The SQS-fed Lambda side: run a ship from the messages the SQS delivery sends.

No Airflow import here or below (an import-linter contract checks it), so a Lambda package needs only
the core, the ships and their dependencies. Handler: ``starfleet_airflow.lambda_worker.handler.handler``.
"""
