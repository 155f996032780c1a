"""Planning: validation, narrowing (never widening), work units within max_map_length, run snapshots."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from starfleet_airflow.aws.locations import Location, parse_location
from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import (
    DEFAULT_SQS_TARGETS_PER_UNIT,
    Narrowing,
    PlanError,
    PlanRefused,
    SnapshotView,
    WorkUnit,
    cut_units,
    plan_run,
    unit_targets,
)
from starfleet_airflow.core.resolve import Target, resolve_targets
from starfleet_airflow.core.snapshot import RunSnapshot, SnapshotError, clear_cache, load_snapshot, write_snapshot
from starfleet_airflow.core.templates import LoadedTemplate, parse_template_bytes
from starfleet_airflow.devtools.synthetic_org import build_index, sample_organisation
from tests.fixtures.factory_ships.recorders import (
    AccountRecorderShip,
    OnceRecorderShip,
    RegionPayload,
    RegionRecorderShip,
)

ORG = sample_organisation()
INDEX = AccountIndex.from_dict(ORG)
WEB = {
    "TemplateName": "Web",
    "TemplateDescription": "web accounts",
    "IncludeAccounts": {"ByOrgUnits": ["Web"]},
    "IncludeRegions": ["us-east-1", "eu-west-1"],
}
EVERYWHERE = {
    "TemplateName": "Everywhere",
    "TemplateDescription": "all",
    "IncludeAccounts": {"AllAccounts": True},
    "IncludeRegions": ["ALL"],
}


def loaded(key: str, template: dict[str, Any] | str) -> LoadedTemplate:
    text = template if isinstance(template, str) else yaml.safe_dump(template, sort_keys=False)
    raw, error = parse_template_bytes(text.encode())
    return LoadedTemplate(key, raw, error, Location(None, key))


def plan(ship: Any, templates: list[LoadedTemplate], **kwargs: Any) -> Any:
    options = {
        "index_data": ORG,
        "index_source": "sample",
        "template_prefix": f"{ship.__name__}/",
        "delivery_mode": DeliveryMode.INLINE,
        "max_units": 1024,
    }
    options.update(kwargs)
    return plan_run(ship, templates=templates, **options)


def expected_targets(template: dict[str, Any], schema: Any, strategy: FanOutStrategy) -> list[Target]:
    return resolve_targets(schema().load(template), INDEX, strategy)


def assert_units_cover(units: list[WorkUnit], sizes: dict[str, int]) -> None:
    """Units of each template are contiguous, non-overlapping and cover every target once."""
    for key, size in sizes.items():
        bounds = sorted((u.start, u.stop) for u in units if u.template == key)
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        assert all(start < stop for start, stop in bounds)
    assert [u.unit for u in units] == list(range(len(units)))


# --------------------------------------------------------------------------------------------------
# Work units
# --------------------------------------------------------------------------------------------------


def test_inline_gives_one_unit_per_account_with_names_in_labels() -> None:
    """One row per account in the grid, in the order of account names, each naming its account and regions."""
    result = plan(RegionRecorderShip, [loaded("R/web.yaml", WEB)])
    targets = expected_targets(WEB, RegionPayload, FanOutStrategy.ACCOUNT_REGION)
    accounts = sorted({t.account_id for t in targets}, key=lambda a: INDEX.name_of(a).lower())
    assert len(result.units) == len(accounts)
    for unit, account in zip(result.units, accounts, strict=True):
        assert {t.account_id for t in unit_targets(result.view, unit)} == {account}
        regions = sorted(t.region for t in targets if t.account_id == account)
        where = regions[0] if len(regions) == 1 else f"{len(regions)} regions ({', '.join(regions)})"
        assert unit.label == f"Web: {INDEX.name_of(account)} ({account}), {where}"
    assert_units_cover(result.units, {"R/web.yaml": len(targets)})


def test_inline_falls_back_to_chunks_when_accounts_exceed_max_map_length() -> None:
    result = plan(RegionRecorderShip, [loaded("R/all.yaml", EVERYWHERE), loaded("R/web.yaml", WEB)], max_units=5)
    sizes = {t.key: t.targets for t in result.templates}
    assert len(result.units) <= 5
    assert_units_cover(result.units, sizes)
    chunks = [u for u in result.units if u.size > 1]
    assert chunks and all(" targets, " in u.label and " accounts (" in u.label for u in chunks)


def test_sqs_units_are_large_and_grow_to_fit() -> None:
    index = AccountIndex.from_dict(build_index(5000, 20))
    targets = [Target(f"{i:012d}", f"r{j}") for i in range(5000) for j in range(20)]
    units = cut_units(
        [("t.yaml", "T", targets)],
        index,
        strategy=FanOutStrategy.ACCOUNT_REGION,
        delivery_mode=DeliveryMode.SQS,
        max_units=1024,
    )
    assert len(units) == math.ceil(len(targets) / DEFAULT_SQS_TARGETS_PER_UNIT) == 10
    assert_units_cover(units, {"t.yaml": len(targets)})
    squeezed = cut_units(
        [("a.yaml", "A", targets), ("b.yaml", "B", targets[:7])],
        index,
        strategy=FanOutStrategy.ACCOUNT_REGION,
        delivery_mode=DeliveryMode.SQS,
        max_units=4,
        targets_per_unit=100,
    )
    assert len(squeezed) <= 4
    assert_units_cover(squeezed, {"a.yaml": len(targets), "b.yaml": 7})


def test_single_invocation_is_one_unit_per_template_and_refuses_more_than_airflow_maps() -> None:
    templates = [loaded(f"O/{n}.yaml", {"TemplateName": n, "TemplateDescription": "d"}) for n in "abc"]
    result = plan(OnceRecorderShip, templates)
    assert [(u.template, u.label, u.start, u.stop) for u in result.units] == [
        ("O/a.yaml", "a", 0, 1),
        ("O/b.yaml", "b", 0, 1),
        ("O/c.yaml", "c", 0, 1),
    ]
    assert unit_targets(result.view, result.units[0]) == [Target(None, None)]
    with pytest.raises(PlanError, match="max_map_length"):
        plan(OnceRecorderShip, templates, max_units=2)


# --------------------------------------------------------------------------------------------------
# Validation and narrowing
# --------------------------------------------------------------------------------------------------


def test_invalid_templates_are_recorded_and_the_others_planned() -> None:
    templates = [
        loaded("R/web.yaml", WEB),
        loaded("R/yaml.yaml", "TemplateName: [unclosed\n"),
        loaded("R/schema.yaml", {**WEB, "IncludeRegions": ["mars-north-1"]}),
        loaded("R/dated.yaml", "TemplateName: d\nTemplateDescription: d\nWhen: 2024-01-01\n"),
    ]
    result = plan(RegionRecorderShip, templates)
    assert [t.key for t in result.templates] == ["R/web.yaml"]
    invalid = {i.key: " ".join(i.errors) for i in result.invalid}
    assert "invalid YAML at line" in invalid["R/yaml.yaml"]
    assert "IncludeRegions" in invalid["R/schema.yaml"] and "mars-north-1" in invalid["R/schema.yaml"]
    assert "cannot be encoded as JSON" in invalid["R/dated.yaml"]
    assert list(result.snapshot.templates) == ["R/web.yaml"]


def test_narrowing_by_ids_names_regions_and_templates() -> None:
    web = sorted(INDEX.by_org_unit("Web"))
    result = plan(
        RegionRecorderShip,
        [loaded("R/web.yaml", WEB), loaded("R/all.yaml", EVERYWHERE)],
        narrowing=Narrowing.from_params(
            {"templates": ["web"], "accounts": [web[0], INDEX.name_of(web[1]).upper()], "regions": ["eu-west-1"]}
        ),
    )
    assert [t.key for t in result.templates] == ["R/web.yaml"]
    assert result.snapshot.accounts == sorted(web[:2])
    targets = [t for u in result.units for t in unit_targets(result.view, u)]
    assert targets == [Target(a, "eu-west-1") for a in sorted(web[:2]) if "eu-west-1" in INDEX.regions_of(a)]


@pytest.mark.parametrize(
    ("ship", "params", "message"),
    [
        (RegionRecorderShip, {"templates": ["nope"]}, "'nope' is not a template of RegionRecorderShip"),
        (RegionRecorderShip, {"accounts": ["999999999999"]}, "account '999999999999' is not in the account index"),
        (RegionRecorderShip, {"accounts": ["no-such-name"]}, "account 'no-such-name' is not in the account index"),
        (RegionRecorderShip, {"regions": ["ap-northeast-3"]}, "region ap-northeast-3 is not selected"),
        (RegionRecorderShip, {"regions": ["atlantis-1"]}, "unknown region atlantis-1"),
        (AccountRecorderShip, {"regions": ["us-east-1"]}, "regions do not apply"),
        (OnceRecorderShip, {"accounts": ["100000000001"]}, "accounts and regions do not apply"),
        (RegionRecorderShip, {"templates": "not a list", "accounts": [{"a": 1}]}, "expected strings"),
    ],
)
def test_narrowing_is_refused_outside_the_templates(ship: Any, params: dict[str, Any], message: str) -> None:
    if ship is OnceRecorderShip:
        templates = [loaded("O/a.yaml", {"TemplateName": "a", "TemplateDescription": "d"})]
    elif ship is AccountRecorderShip:
        templates = [loaded("A/web.yaml", {k: v for k, v in WEB.items() if k != "IncludeRegions"})]
    else:
        templates = [loaded("R/web.yaml", WEB)]
    with pytest.raises(PlanRefused) as refused:
        plan(ship, templates, narrowing=Narrowing.from_params(params))
    assert message in str(refused.value)


def test_an_account_outside_the_selection_is_refused_not_added() -> None:
    outside = sorted(INDEX.all_ids() - INDEX.by_org_unit("Web") - INDEX.org_root_ids())[0]
    with pytest.raises(PlanRefused, match=rf"{outside}\) is not selected by the templates of this run"):
        plan(RegionRecorderShip, [loaded("R/web.yaml", WEB)], narrowing=Narrowing(accounts=(outside,)))


def test_a_narrowing_that_leaves_nothing_is_refused() -> None:
    fewer = next(a for a in sorted(INDEX.by_org_unit("Web")) if "eu-west-1" not in INDEX.regions_of(a))
    with pytest.raises(PlanRefused, match="leaves no target"):
        plan(
            RegionRecorderShip,
            [loaded("R/web.yaml", WEB)],
            narrowing=Narrowing(accounts=(fewer,), regions=("eu-west-1",)),
        )


def test_scope_to_regions_and_template_key_restriction() -> None:
    result = plan(
        RegionRecorderShip,
        [loaded("R/web.yaml", WEB), loaded("R/all.yaml", EVERYWHERE)],
        scope_to_regions=["eu-west-1"],
        only_template_keys=["R/all.yaml", "R/gone.yaml"],
    )
    assert [t.key for t in result.templates] == ["R/all.yaml"]
    assert {t.region for u in result.units for t in unit_targets(result.view, u)} == {"eu-west-1"}
    assert any("R/gone.yaml" in note for note in result.notes)


# --------------------------------------------------------------------------------------------------
# Snapshots: what deliver tasks re-derive from
# --------------------------------------------------------------------------------------------------


def test_snapshot_round_trip_gives_the_same_targets_and_template_bytes(tmp_path: Path) -> None:
    template = "TemplateName: Zeta\nTemplateDescription: keys stay in order\nIncludeAccounts: {AllAccounts: true}\n"
    template += "IncludeRegions: [ALL]\nAardvark: last\n"
    result = plan(RegionRecorderShip, [loaded("R/zeta.yaml", template), loaded("R/web.yaml", WEB)])
    location = write_snapshot(result.snapshot, parse_location(str(tmp_path / "snaps")))
    assert location == write_snapshot(result.snapshot, parse_location(str(tmp_path / "snaps"))), "content-addressed"
    clear_cache()
    stored = load_snapshot(location)
    assert list(stored.templates["R/zeta.yaml"]) == list(yaml.safe_load(template)), "key order kept"
    fresh = SnapshotView(stored, RegionRecorderShip, source=location)
    for unit in result.units:
        assert unit_targets(fresh, unit) == unit_targets(result.view, unit)


def test_a_tampered_snapshot_is_refused(tmp_path: Path) -> None:
    result = plan(RegionRecorderShip, [loaded("R/web.yaml", WEB)])
    location = write_snapshot(result.snapshot, parse_location(str(tmp_path)))
    document = json.loads(gzip.decompress(Path(location).read_bytes()))
    document["accounts"] = ["100000000001"]
    Path(location).write_bytes(gzip.compress(json.dumps(document).encode()))
    clear_cache()
    with pytest.raises(SnapshotError, match="does not match its name"):
        load_snapshot(location)


def test_snapshots_in_s3() -> None:
    snapshot = RunSnapshot(ship="S", index=ORG, templates={"k.yaml": WEB}, accounts=["100000000001"])
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="snapshots")
        location = write_snapshot(snapshot, Location("snapshots", "runs/"), s3)
        assert location == f"s3://snapshots/runs/S/{snapshot.digest}.json.gz"
        clear_cache()
        assert load_snapshot(location, lambda: s3) == snapshot


# --------------------------------------------------------------------------------------------------
# The organisation-size case of the benchmarks
# --------------------------------------------------------------------------------------------------


def test_5000_accounts_by_20_regions_plans_within_max_map_length() -> None:
    organisation = build_index(5000, 20)
    result = plan(
        RegionRecorderShip,
        [loaded("R/all.yaml", EVERYWHERE)],
        index_data=organisation,
        delivery_mode=DeliveryMode.SQS,
        max_units=1024,
    )
    index = AccountIndex.from_dict(organisation)
    expected = len(resolve_targets(RegionPayload().load(EVERYWHERE), index, FanOutStrategy.ACCOUNT_REGION))
    assert result.total_targets == expected > 80_000
    assert len(result.units) <= 1024
    assert_units_cover(result.units, {"R/all.yaml": expected})
    inline = plan(
        AccountRecorderShip,
        [loaded("A/all.yaml", {k: v for k, v in EVERYWHERE.items() if k != "IncludeRegions"})],
        index_data=organisation,
        max_units=1024,
    )
    assert len(inline.units) <= 1024 < inline.total_targets  # too many accounts for one row each: chunks
