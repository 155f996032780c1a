"""``Airflow.LambdaTargetCheck: INDEX``: run only targets that the message's own template selects.

The queue is the trust boundary (see the README's trust model): whoever can send to it can make the
Lambda act wherever its role reaches. With ``INDEX`` the Lambda at least refuses a target outside the
organisation's account index, an account its template does not select, a region not enabled for the
account or outside ``STARFLEET.ScopeToRegions``: stale, misrouted or hand-written messages.
"""

from __future__ import annotations

from typing import Any

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import FanOutStrategy
from starfleet_airflow.core.registry import LoadedShip
from starfleet_airflow.core.resolve import resolve_accounts, wanted_regions
from starfleet_airflow.core.templates import validate_template


def target_refusal(
    ship: LoadedShip, payload: dict[str, Any], account_id: str | None, region: str | None, index: AccountIndex
) -> str | None:
    """Why the message's target is not one its template selects (None when it is, or is not checkable).

    A payload the ship's schema refuses is left to the runner, which reports it as invalid with the
    schema's own messages.
    """
    if ship.fan_out_strategy is FanOutStrategy.SINGLE_INVOCATION or account_id is None:
        return None
    loaded, errors = validate_template(ship.ship_class, payload)
    if loaded is None or errors:
        return None
    if account_id not in index.accounts:
        return f"StarbaseAssignedAccount {account_id} is not an account of the account index {index.source}"
    if account_id not in resolve_accounts(loaded, index):
        return f"account {account_id} is not selected by the template's IncludeAccounts/ExcludeAccounts"
    if ship.fan_out_strategy is FanOutStrategy.ACCOUNT_REGION and region is not None:
        scope = ship.starfleet_configuration.get("scope_to_regions") or ()
        if region not in wanted_regions(loaded, scope):
            return (
                f"region {region} is not selected by the template's IncludeRegions/ExcludeRegions"
                " or is outside STARFLEET.ScopeToRegions"
            )
        if region not in index.regions_of(account_id):
            return f"region {region} is not enabled for account {account_id} in the account index"
    return None
