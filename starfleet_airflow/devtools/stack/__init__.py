"""The production-shaped stack on one machine, without Docker (``scripts/stack.sh up | down | status``).

PostgreSQL, Redis, the AWS stand-in (moto, seeded), and Airflow with the CeleryExecutor: scheduler,
dag-processor, triggerer, api-server and two Celery workers that share nothing but the database, the
broker and the stand-in's S3. Every process is a child started by ``up`` in its own session, recorded by
pid under ``.starfleet/stack/run/``; ``down`` stops exactly those. Tests and scripts read
``.starfleet/stack/stack.env`` (``StackEnv``) and talk to the stack through ``AirflowApi``.

Modules: ``settings`` (ports, folders, secrets, every component's environment), ``processes`` (start,
find, stop by pid), ``postgres``, ``stand_in_process`` (the moto process), ``components`` (what runs and how it
is checked), ``api`` (the REST client), ``control`` (up/down/status), ``hostname`` (Airflow's
``hostname_callable`` for the workers).
"""
