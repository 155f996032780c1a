"""starfleet-airflow: Starfleet's worker ships, payload templates and account index, run by Airflow.

This module is **the public API for ship authors**: everything a ship imports comes from here, e.g.

    from starfleet_airflow import FanOutStrategy, StarfleetWorkerShip, assume_role_session

so that moving code inside the package never breaks a ship (an import-linter contract keeps ``ships/``
on this surface). Names resolve on first access (PEP 562): importing the package costs nothing at DAG
parse time, and a ship pays for boto3 only when it uses an AWS helper.

Layers below (see the README's layout table): ``core`` (Airflow-free model), ``airflow`` (DAGs and
tasks), ``delivery`` (SQS and inline modes), ``lambda_worker`` (the SQS-fed Lambda side), ``aws``
(sessions, locations, S3 events), ``tools`` (CLI, MWAA bundle), ``devtools`` (demo and stand-in).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # the ship contract
    "StarfleetWorkerShip": "starfleet_airflow.core.ship",
    "RunContext": "starfleet_airflow.core.ship",
    "ChangeSummary": "starfleet_airflow.core.changes",
    "FanOutStrategy": "starfleet_airflow.core.enums",
    "InvocationSource": "starfleet_airflow.core.enums",
    "EventBridgeFrequency": "starfleet_airflow.core.enums",
    "DeliveryMode": "starfleet_airflow.core.enums",
    "AlertPriority": "starfleet_airflow.core.enums",
    # schemas a ship extends
    "WorkerShipBaseConfigurationTemplate": "starfleet_airflow.core.schemas.configuration",
    "WorkerShipPayloadBaseTemplate": "starfleet_airflow.core.schemas.payload",
    "BaseAccountPayloadTemplate": "starfleet_airflow.core.schemas.payload",
    "BaseAccountRegionPayloadTemplate": "starfleet_airflow.core.schemas.payload",
    "AccountsSpecificationSchema": "starfleet_airflow.core.schemas.payload",
    "IncludeAccountsSpecificationSchema": "starfleet_airflow.core.schemas.payload",
    "AccountTagNameValueSchema": "starfleet_airflow.core.schemas.payload",
    "ACCOUNT_ID_PATTERN": "starfleet_airflow.core.schemas.payload",
    "ALL_REGIONS": "starfleet_airflow.core.schemas.regions",
    "supported_regions": "starfleet_airflow.core.schemas.regions",
    "check_regions": "starfleet_airflow.core.schemas.regions",
    "flatten_errors": "starfleet_airflow.core.schemas.errors",
    # configuration and the account index, as a ship reads them
    "STARFLEET_CONFIGURATION": "starfleet_airflow.core.starfleet_configuration",
    "SECRETS_MANAGER": "starfleet_airflow.core.secrets",
    "ConfigurationError": "starfleet_airflow.core.config",
    "AccountIndex": "starfleet_airflow.core.account_index",
    "AccountIndexError": "starfleet_airflow.core.account_index",
    "index_for_ship": "starfleet_airflow.core.index_cache",
    "cached_account_index": "starfleet_airflow.core.index_cache",
    "resolve_accounts": "starfleet_airflow.core.resolve",
    "wanted_regions": "starfleet_airflow.core.resolve",
    # AWS helpers
    "assume_role_session": "starfleet_airflow.aws.sessions",
    "role_arn": "starfleet_airflow.aws.sessions",
    "ROLE_SESSION_NAME_PATTERN": "starfleet_airflow.aws.sessions",
    "Location": "starfleet_airflow.aws.locations",
    "LocationError": "starfleet_airflow.aws.locations",
    "S3_SCHEME": "starfleet_airflow.aws.locations",
    "parse_location": "starfleet_airflow.aws.locations",
    "read_bytes": "starfleet_airflow.aws.locations",
    "write_bytes": "starfleet_airflow.aws.locations",
}

# The same names, spelled out for readers and linters (a test keeps the two equal).
__all__ = [
    "ACCOUNT_ID_PATTERN",
    "ALL_REGIONS",
    "ROLE_SESSION_NAME_PATTERN",
    "S3_SCHEME",
    "SECRETS_MANAGER",
    "STARFLEET_CONFIGURATION",
    "AccountIndex",
    "AccountIndexError",
    "AccountTagNameValueSchema",
    "AccountsSpecificationSchema",
    "AlertPriority",
    "BaseAccountPayloadTemplate",
    "BaseAccountRegionPayloadTemplate",
    "ChangeSummary",
    "ConfigurationError",
    "DeliveryMode",
    "EventBridgeFrequency",
    "FanOutStrategy",
    "IncludeAccountsSpecificationSchema",
    "InvocationSource",
    "Location",
    "LocationError",
    "RunContext",
    "StarfleetWorkerShip",
    "WorkerShipBaseConfigurationTemplate",
    "WorkerShipPayloadBaseTemplate",
    "assume_role_session",
    "cached_account_index",
    "check_regions",
    "flatten_errors",
    "index_for_ship",
    "parse_location",
    "read_bytes",
    "resolve_accounts",
    "role_arn",
    "supported_regions",
    "wanted_regions",
    "write_bytes",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and readers; at run time names load lazily
    from starfleet_airflow.aws.locations import (
        S3_SCHEME,
        Location,
        LocationError,
        parse_location,
        read_bytes,
        write_bytes,
    )
    from starfleet_airflow.aws.sessions import ROLE_SESSION_NAME_PATTERN, assume_role_session, role_arn
    from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
    from starfleet_airflow.core.changes import ChangeSummary
    from starfleet_airflow.core.config import ConfigurationError
    from starfleet_airflow.core.enums import (
        AlertPriority,
        DeliveryMode,
        EventBridgeFrequency,
        FanOutStrategy,
        InvocationSource,
    )
    from starfleet_airflow.core.index_cache import cached_account_index, index_for_ship
    from starfleet_airflow.core.resolve import resolve_accounts, wanted_regions
    from starfleet_airflow.core.schemas.configuration import WorkerShipBaseConfigurationTemplate
    from starfleet_airflow.core.schemas.errors import flatten_errors
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
    from starfleet_airflow.core.secrets import SECRETS_MANAGER
    from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip
    from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(
            f"module 'starfleet_airflow' has no attribute {name!r} (the ship API: {', '.join(__all__)})"
        )
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
