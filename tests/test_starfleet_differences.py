"""Every intended difference from Starfleet, one test each, named as the README's "Differences from Starfleet" table.

The account selection cases run our resolver on small hand-made indexes whose shape provokes the case. Where
Starfleet's behaviour is the reference (the ``r-`` shortcut, ``ou-`` id lengths), the expectation is what
Starfleet's own index and resolvers return for the same input (checked against Starfleet's code at 0bedfd2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.resolve import resolve_accounts, unmatched_selectors
from starfleet_airflow.core.schemas import BaseAccountPayloadTemplate

README = Path(__file__).resolve().parent.parent / "README.md"
ROOT_ID = "r-ab12"
MGMT = "100000000000"


def account(
    account_id: str, name: str, ous: list[tuple[str, str]], *, status: str = "ACTIVE", mgmt: str = MGMT
) -> dict[str, Any]:
    """One index entry: ``ous`` from the nearest OU up; the organisation root is added last, as the generator does."""
    parents = [{"Id": ou_id, "Type": "ORGANIZATIONAL_UNIT", "Name": ou_name} for ou_id, ou_name in ous]
    parents.append({"Id": ROOT_ID, "Type": "ROOT", "Name": "ROOT"})
    return {
        "Id": account_id,
        "Name": name,
        "Status": status,
        "Arn": f"arn:aws:organizations::{mgmt}:account/o-ab12cd34ef/{account_id}",
        "Parents": parents,
        "Regions": ["us-east-1", "eu-west-1"],
        "Tags": {"team": name.split("-")[0]},
    }


def organisation(*accounts: dict[str, Any]) -> AccountIndex:
    return AccountIndex.from_dict({"accounts": {a["Id"]: a for a in accounts}}, source="test-index")


ORG = organisation(
    account(MGMT, "management", []),
    account("100000000001", "rnd-1", [("ou-ab12-rnd00001", "r-and-d")]),
    account("100000000002", "prod-1", [("ou-ab12-prod0001", "Production")]),
    account("100000000003", "prod-2", [("ou-ab12-prod0001", "Production")]),
)
EVERYONE_BUT_ROOT = {"100000000001", "100000000002", "100000000003"}


def selected(include: dict[str, Any], exclude: dict[str, Any] | None = None, index: AccountIndex = ORG) -> set[str]:
    template = {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": include}
    if exclude is not None:
        template["ExcludeAccounts"] = exclude
    return resolve_accounts(BaseAccountPayloadTemplate().load(template), index)


# -- the r- shortcut: only this organisation's root ids (and the name ROOT) mean "every account" ----------------


def test_difference_root_shortcut_an_ou_named_r_is_an_ou() -> None:
    assert selected({"ByOrgUnits": ["r-and-d"]}) == {"100000000001"}
    assert selected({"ByOrgUnits": ["R-AND-D"]}) == {"100000000001"}  # names are case-insensitive


def test_difference_root_shortcut_own_root_id_and_name_root_select_everyone() -> None:
    assert selected({"ByOrgUnits": [ROOT_ID]}) == EVERYONE_BUT_ROOT  # the org root account only with OperateInOrgRoot
    assert selected({"ByOrgUnits": ["R-AB12"]}) == EVERYONE_BUT_ROOT
    assert selected({"ByOrgUnits": ["ROOT"]}) == EVERYONE_BUT_ROOT
    assert selected({"ByOrgUnits": ["Root"]}) == EVERYONE_BUT_ROOT


def test_difference_root_shortcut_unknown_root_id_selects_nothing_and_warns() -> None:
    assert selected({"ByOrgUnits": ["r-zzzz"]}) == set()
    assert selected({"ByOrgUnits": ["r-zzzz", "Production"]}) == {"100000000002", "100000000003"}
    payload = BaseAccountPayloadTemplate().load(
        {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": ["r-zzzz"]}}
    )
    assert unmatched_selectors(payload, ORG) == ["IncludeAccounts.ByOrgUnits 'r-zzzz' matches no account"]


def test_difference_root_shortcut_in_exclude_accounts() -> None:
    everyone = {"AllAccounts": True}
    assert selected(everyone, {"ByOrgUnits": ["r-zzzz"]}) == EVERYONE_BUT_ROOT  # excludes nothing
    assert selected(everyone, {"ByOrgUnits": ["r-and-d"]}) == {"100000000002", "100000000003"}
    assert selected(everyone, {"ByOrgUnits": [ROOT_ID]}) == set()


def test_difference_root_shortcut_name_root_without_root_parents() -> None:
    """An index written by hand without the ROOT parent entries: ``ROOT`` still means every account (ours)."""
    bare = {"Id": "100000000009", "Name": "bare", "Status": "ACTIVE", "Arn": "", "Parents": [], "Regions": []}
    index = AccountIndex.from_dict({"accounts": {"100000000009": bare}}, source="bare")
    assert selected({"ByOrgUnits": ["ROOT"]}, index=index) == {"100000000009"}  # Starfleet: nothing
    assert selected({"ByOrgUnits": [ROOT_ID]}, index=index) == set()  # not this organisation's root


# -- OU ids: Starfleet's length rule, adopted ----------------------------------------------------------------


def test_ou_id_length_follows_starfleet() -> None:
    ou_68 = "ou-" + "a" * 32 + "-" + "b" * 32
    assert len(ou_68) == 68
    BaseAccountPayloadTemplate().load(
        {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": [ou_68]}}
    )
    with pytest.raises(ValidationError, match="an OU id is at most 68 characters, got 69"):
        BaseAccountPayloadTemplate().load(
            {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": [ou_68 + "c"]}}
        )
    with pytest.raises(ValidationError, match="an OU name is at most 128 characters"):
        BaseAccountPayloadTemplate().load(
            {"TemplateName": "t", "TemplateDescription": "d", "IncludeAccounts": {"ByOrgUnits": ["n" * 129]}}
        )
