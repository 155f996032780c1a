"""The local AWS stand-in: a moto server seeded with a realistic organisation, queues, buckets, templates.

``org_model`` decides the organisation (no AWS call), ``org_seeding`` creates it through the AWS APIs,
``resources`` derives what a configuration needs, ``server`` runs and seeds a moto server in this
process, ``ports`` checks ports and sets the proxy route. ``python -m starfleet_airflow.devtools.stand_in``
serves one by hand.
"""
