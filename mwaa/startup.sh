#!/usr/bin/env bash
# Amazon MWAA startup script for starfleet-airflow (optional; docs/deploy-mwaa.md).
# MWAA runs it on every Airflow component (scheduler, workers, web server / API server, triggerer,
# DAG processor) before Airflow starts; the variables it exports are seen by Airflow and its tasks.
#
# The bundle puts the configuration folder in the DAGs folder (dags/config); the DAG file finds it there,
# and this makes it explicit for anything else that reads it (the starfleet-airflow CLI, ship code).
# Set STARFLEET_CONFIG_DIR in this file to point at another folder.
export STARFLEET_CONFIG_DIR="${STARFLEET_CONFIG_DIR:-${AIRFLOW_HOME:-/usr/local/airflow}/dags/config}"
