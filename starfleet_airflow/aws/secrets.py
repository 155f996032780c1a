"""Read one secret string from AWS Secrets Manager with boto3 (the Lambda side and the CLI).

Inside Airflow tasks the Airflow layer reads it through the Amazon provider's ``SecretsManagerHook``
instead, so the secret is fetched with the deployment's Airflow connection.
"""

from __future__ import annotations

import base64


def read_secret_string(secret_id: str, region: str) -> str:
    """The secret's ``SecretString`` (a binary secret is decoded as UTF-8), with the default credentials."""
    import boto3

    response = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_id)
    if "SecretString" in response:
        return response["SecretString"]
    return base64.b64decode(response["SecretBinary"]).decode("utf-8")
