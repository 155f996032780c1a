"""Operator tools: the ``starfleet-airflow`` command line and the Amazon MWAA bundle builder."""
