"""AWS helpers with no Airflow in them: cross-account sessions, S3-or-local locations, S3 event parsing.

Clients that come from Airflow connections are built by the Airflow layer
(``starfleet_airflow.airflow.connections``) through the Amazon provider's hooks; the helpers here take
a client or session as an argument and never decide how to authenticate.
"""
