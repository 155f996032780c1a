"""``python -m starfleet_airflow.tools.mwaa``: build the bundle or parse a DAGs folder."""

import sys

from starfleet_airflow.tools.mwaa.main import main

sys.exit(main())
