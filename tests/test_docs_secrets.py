"""Configuration values that look secret never reach the DAG's docs panel (Airflow's masker decides)."""

from __future__ import annotations

from starfleet_airflow.airflow.dags import build_dags
from tests.airflow_fixtures import Deployment

SECRETS = {
    "SlackToken": "xoxb-1234-5678-abcdef",
    "PrivateKey": "-----BEGIN PRIVATE KEY-----MIIE",
    "Webhook": {"WebhookUrl": "https://hooks.slack.com/services/T0/B0/SECRETPART"},
    "Credentials": [{"ApiKey": "ak-0123456789"}, {"Password": "hunter2hunter2"}],
}


def test_secret_looking_values_are_masked_in_the_docs(deployment: Deployment) -> None:
    deployment.write_index({"accounts": {}})
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "OnceRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
        "Channel": "#security",
        **SECRETS,
    }
    deployment.write()
    doc = build_dags()["starfleet_once_recorder_ship"].doc_md
    for leaked in ("xoxb-1234", "BEGIN PRIVATE KEY", "SECRETPART", "ak-0123456789", "hunter2"):
        assert leaked not in doc
    assert "SlackToken: '***'" in doc and "PrivateKey: '***'" in doc and "ApiKey: '***'" in doc
    assert "Channel: '#security'" in doc, "what is not secret stays readable"
