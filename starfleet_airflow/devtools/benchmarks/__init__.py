"""The benchmarks behind ``scripts/benchmark.py``: one module per BENCHMARKS.md target family.

``fanout`` (targets 1-3: the whole fan-out, a cold deliver task, SQS calls), ``resolution`` (8),
``scale`` (6: a million targets), ``parse`` (7), ``inline`` (5, through ``airflow dags test``) and
``stack`` (4 and 5 on the production stack). Every figure is a median of several runs, printed next to
its reference and the ratio; speed is shown here, never by a timed test.
"""
