"""Build the deployment bundle for Amazon MWAA, and parse a DAGs folder the way Airflow does.

MWAA runs Airflow from what its environment bucket holds: the ``dags/`` prefix is synced to the DAGs
folder of every component (``/usr/local/airflow/dags``), ``requirements.txt`` is pip-installed with the
Airflow constraints of the environment's Airflow version, and an optional startup script runs before
Airflow starts. Airflow puts the DAGs folder on ``sys.path``, so the bundle ships our code *inside* it,
laid out like this repository so that every relative path means the same thing in both places (the
DAG file finds ``config/`` next to its own ``dags/`` folder; configuration paths resolve against the
folder holding ``config/``):

    <bundle>/
      dags/                     -> s3://<environment bucket>/dags/ (MWAA's DAGs folder)
        dags/starfleet_dags.py  the DAG file (one DAG per enabled ship), with any other DAG files of dags/
        .airflowignore          keeps Airflow from parsing the folders below as DAG files
        starfleet_airflow/      the framework
        ships/                  ship plugins
        config/                 configuration
        templates/              payload templates (when they are not read from S3)
      requirements.txt          from mwaa/requirements-<airflow version>.txt (constraints line first)
      startup.sh                from mwaa/startup.sh (optional)
      bundle-info.json          what was built: versions, source commit, files

Shipping the source rather than a wheel keeps the deployment one ``aws s3 sync``: no private package
index, no plugins.zip, and the code that runs is the code in the bucket.

The same module parses a DAGs folder with Airflow's ``DagBag`` (``parse`` command). It is written to run
under any Airflow 3 (the CI job runs it from inside the bundle under MWAA's Airflow 3.0.6) and imports
nothing from this package, so it checks the bundle's own copy of the code, not an installed one.
"""

from starfleet_airflow.tools.mwaa.bundle import DEFAULT_AIRFLOW_VERSION, Bundle, BundleError, build_bundle
from starfleet_airflow.tools.mwaa.parse import ParseReport, parse_dags_folder

__all__ = ["DEFAULT_AIRFLOW_VERSION", "Bundle", "BundleError", "ParseReport", "build_bundle", "parse_dags_folder"]
