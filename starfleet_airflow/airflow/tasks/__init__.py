"""The bodies of a ship DAG's three tasks, each in its own module: plan, deliver, report."""
