"""``python -m starfleet_airflow.tools.cli``: the same as the ``starfleet-airflow`` command."""

import sys

from starfleet_airflow.tools.cli.main import main

sys.exit(main())
