"""``python -m starfleet_airflow.devtools.stack up | down | status`` (what scripts/stack.sh runs)."""

from starfleet_airflow.devtools.stack.control import main

raise SystemExit(main())
