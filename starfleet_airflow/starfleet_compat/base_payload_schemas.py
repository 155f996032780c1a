"""``starfleet.worker_ships.base_payload_schemas``: the payload templates and account specifications.

This project's schemas, which keep Starfleet's field names and semantics; where they differ (``ByIds`` must be
12-digit account ids, an omitted ``ExcludeAccounts`` loads as four empty lists, ``ExcludeRegions`` is always a
set) the README's "Differences from Starfleet" table says why.
"""

from __future__ import annotations

from typing import TypeVar

from starfleet_airflow.core.schemas.payload import (
    AccountsSpecificationSchema,
    AccountTagNameValueSchema,
    BaseAccountPayloadTemplate,
    BaseAccountRegionPayloadTemplate,
    IncludeAccountsSpecificationSchema,
    WorkerShipPayloadBaseTemplate,
)
from starfleet_airflow.starfleet_compat.niceties import get_all_regions

BaseAccountPayloadTemplateInstance = TypeVar("BaseAccountPayloadTemplateInstance", bound=BaseAccountPayloadTemplate)
BaseAccountRegionPayloadTemplateInstance = TypeVar(
    "BaseAccountRegionPayloadTemplateInstance", bound=BaseAccountRegionPayloadTemplate
)

__all__ = [
    "AccountTagNameValueSchema",
    "AccountsSpecificationSchema",
    "BaseAccountPayloadTemplate",
    "BaseAccountPayloadTemplateInstance",
    "BaseAccountRegionPayloadTemplate",
    "BaseAccountRegionPayloadTemplateInstance",
    "IncludeAccountsSpecificationSchema",
    "WorkerShipPayloadBaseTemplate",
    "get_all_regions",
]
