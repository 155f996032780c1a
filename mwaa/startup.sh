#!/usr/bin/env bash
# Amazon MWAA startup script for starfleet-airflow (optional; docs/deploy-mwaa.md).
# MWAA runs it on every Airflow component (scheduler, workers, API server, triggerer, DAG processor)
# before Airflow starts; the variables it exports are seen by Airflow and by its tasks.
#
# The DAG file finds the bundled configuration by itself (config/ next to its dags/ folder). Exporting
# the folder makes it explicit for code that resolves it on its own: the starfleet-airflow CLI and ships
# that read STARFLEET_CONFIGURATION outside a DAG run. Point it elsewhere here if you keep the
# configuration outside the bundle.
export STARFLEET_CONFIG_DIR="${STARFLEET_CONFIG_DIR:-${AIRFLOW_HOME:-/usr/local/airflow}/dags/config}"
