"""``python -m starfleet_airflow.devtools.demo``: the embedded-default demo (``scripts/demo.sh``)."""

import sys

from starfleet_airflow.devtools.demo.main import main

sys.exit(main())
