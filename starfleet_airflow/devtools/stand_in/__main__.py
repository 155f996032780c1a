"""``python -m starfleet_airflow.devtools.stand_in``: a seeded moto server on 127.0.0.1."""

import sys

from starfleet_airflow.devtools.stand_in.org_server import main

sys.exit(main())
