"""TargetList behaves as the list of Target tuples it stands for; the fast index decoder matches the careful one."""

from __future__ import annotations

import json

import pytest

from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
from starfleet_airflow.core.targets import NO_REGION, Target, TargetList
from starfleet_airflow.devtools.synthetic_org import build_index, sample_organisation

GROUPS = TargetList(["a", "b", "c"], [("r1", "r2", "r3"), ("r1",), ("r2", "r3")])
PLAIN = [Target(a, r) for a, rs in (("a", ("r1", "r2", "r3")), ("b", ("r1",)), ("c", ("r2", "r3"))) for r in rs]


def test_sequence_behaviour_matches_the_plain_list() -> None:
    assert len(GROUPS) == len(PLAIN) == 6
    assert list(GROUPS) == PLAIN and GROUPS == PLAIN
    assert [GROUPS[i] for i in range(-6, 6)] == [PLAIN[i] for i in range(-6, 6)]
    for start in range(7):
        for stop in range(7):
            assert list(GROUPS[start:stop]) == PLAIN[start:stop], (start, stop)
    assert list(GROUPS[::2]) == PLAIN[::2]
    with pytest.raises(IndexError):
        GROUPS[6]
    assert GROUPS[1:5].accounts == ["a", "b", "c"] and GROUPS[1:5].account_count == 3


def test_from_targets_keep_and_the_document_round_trip() -> None:
    assert TargetList.from_targets(PLAIN) == GROUPS
    assert list(GROUPS.keep(accounts=["a", "c"], regions=["r3"])) == [Target("a", "r3"), Target("c", "r3")]
    assert GROUPS.keep(regions=["nowhere"]) == []
    document = json.loads(json.dumps(GROUPS[2:6].to_document()))
    assert TargetList.from_document(document) == PLAIN[2:6]
    per_account = TargetList(["x", "y"], [NO_REGION, NO_REGION])
    assert TargetList.from_document(json.loads(json.dumps(per_account.to_document()))) == [
        Target("x", None),
        Target("y", None),
    ]
    with pytest.raises(ValueError, match="not a target list document"):
        TargetList.from_document({"accounts": ["x"], "regions": [], "shape": [0]})


@pytest.mark.parametrize("data", [sample_organisation(), build_index(300, 7)], ids=["sample", "synthetic"])
def test_fast_and_careful_index_paths_agree(data: dict) -> None:
    raw = json.dumps(data).encode()
    fast = AccountIndex.from_bytes(raw, source="idx.json")
    careful = AccountIndex.from_dict(json.loads(raw), source="idx.json")
    assert fast.accounts == careful.accounts
    assert fast.org_root_ids() == careful.org_root_ids()
    assert fast.generated == careful.generated
    for account in careful.accounts.values():
        assert fast.by_names([account.name]) == careful.by_names([account.name])
        for parent in account.parents:
            assert fast.by_org_unit(parent["Name"]) == careful.by_org_unit(parent["Name"])
        for name, value in account.tags.items():
            assert fast.by_tag(name, value) == careful.by_tag(name, value)


def test_values_the_fast_decoder_refuses_take_the_careful_path() -> None:
    data = sample_organisation()
    data["accounts"]["100000000001"]["Tags"]["CostCentre"] = 42  # accepted, as text
    index = AccountIndex.from_bytes(json.dumps(data).encode(), source="idx.json")
    assert index.accounts["100000000001"].tags["CostCentre"] == "42"
    data["accounts"]["100000000002"]["Regions"] = "us-east-1"
    with pytest.raises(AccountIndexError, match=r"idx\.json: accounts\.100000000002\.Regions: expected a list"):
        AccountIndex.from_bytes(json.dumps(data).encode(), source="idx.json")
