"""Marshmallow schemas of the configuration and of payload templates.

YAML keys are UpperCamelCase and Python keys snake_case (``data_key=``), as in Starfleet. The payload
schemas keep Starfleet's field names and semantics so that ships and templates port unchanged; the
configuration schema adds an optional ``Airflow`` mapping for what only this orchestrator needs.

The schemas live in one module per job (configuration, payload, regions, errors); this package
re-exports them so callers keep one import path.
"""

from starfleet_airflow.core.schemas.configuration import (
    QUEUE_URL_ERROR,
    QUEUE_URL_PATTERN,
    AirflowShipOptions,
    FailureTolerance,
    StarfleetDefaultAccountIndexSchema,
    StarfleetSchema,
    WorkerShipBaseConfigurationTemplate,
    queue_url_field,
)
from starfleet_airflow.core.schemas.errors import error_items, flatten_errors
from starfleet_airflow.core.schemas.payload import (
    ACCOUNT_ID_PATTERN,
    AccountsSpecificationSchema,
    AccountTagNameValueSchema,
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    IncludeAccountsSpecificationSchema,
    WorkerShipPayloadBaseTemplate,
)
from starfleet_airflow.core.schemas.regions import ALL_REGIONS, check_regions, supported_regions

__all__ = [
    "ACCOUNT_ID_PATTERN",
    "ALL_REGIONS",
    "QUEUE_URL_ERROR",
    "QUEUE_URL_PATTERN",
    "AccountTagNameValueSchema",
    "AccountsSpecificationSchema",
    "AirflowShipOptions",
    "BaseAccountPayloadTemplate",
    "BaseAccountRegionPayloadTemplate",
    "FailureTolerance",
    "IncludeAccountsSpecificationSchema",
    "StarfleetDefaultAccountIndexSchema",
    "StarfleetSchema",
    "WorkerShipBaseConfigurationTemplate",
    "WorkerShipPayloadBaseTemplate",
    "check_regions",
    "error_items",
    "flatten_errors",
    "queue_url_field",
    "supported_regions",
]
