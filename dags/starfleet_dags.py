"""Starfleet worker ships as Airflow DAGs: one DAG per enabled ship (see starfleet_airflow.airflow.dags).

Configuration folder: $STARFLEET_CONFIG_DIR, else the config/ folder next to this dags/ folder.
Ships: $STARFLEET_SHIPS_DIR, else the installed ``ships`` package. Parsing reads local files only.
"""

import os
from pathlib import Path

from starfleet_airflow.airflow.dags import build_dags

_CONFIG_DIR = os.environ.get("STARFLEET_CONFIG_DIR") or str(Path(__file__).resolve().parent.parent / "config")

globals().update(build_dags(_CONFIG_DIR))
