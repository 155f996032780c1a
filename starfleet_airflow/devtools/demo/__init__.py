"""The embedded-default demo: the real DAGs, through Airflow, against a local AWS stand-in.

``scripts/demo.sh`` (or ``python -m starfleet_airflow.devtools.demo``) needs no AWS account:

1. starts moto on 127.0.0.1:5000 in this process and seeds it from ``config/``: an organisation of
   61 accounts in nested OUs with tags and varied enabled regions, the roles the ships assume, the
   SQS queue of every SQS-delivery ship (``stand_in``);
2. migrates a SQLite metadata DB under ``.starfleet/airflow`` (reused by the next run);
3. runs the ships' DAGs with ``airflow dags test`` (``airflow_cli``): the account index generator
   (commit), the SQS ships (AwsConfigWorkerShip fans out per account and region, IamRoleWorkerShip per
   account), then the inline S3PublicAccessBlockWorkerShip as a dry run and with commit;
4. prints what happened (``summary``) and how to open the Airflow UI on the same setup.

Every run starts a fresh stand-in (moto's state lives in this process), reuses the metadata DB and
overwrites the account index, so the demo can be run again and again. Details: docs/demo.md.
"""

from starfleet_airflow.devtools.demo.options import DemoOptions, DemoResult, Printer
from starfleet_airflow.devtools.demo.session import run_demo

__all__ = ["DemoOptions", "DemoResult", "Printer", "run_demo"]
