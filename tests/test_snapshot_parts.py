"""A deliver task reads only its share of the run snapshot: the header and its unit's part, each verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.aws.locations import Location, parse_location
from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.snapshot import (
    SnapshotError,
    clear_cache,
    load_snapshot,
    load_unit,
    store_snapshot,
)
from starfleet_airflow.devtools.synthetic_org import build_index
from tests.fixtures.factory_ships.recorders import RegionRecorderShip
from tests.test_plan import EVERYWHERE, loaded, plan

INDEX_BYTES = json.dumps(build_index(120, 6)).encode()
TEAM = {
    "TemplateName": "Team",
    "TemplateDescription": "one OU name, in every branch",
    "IncludeAccounts": {"ByOrgUnits": ["Team-1"]},
    "IncludeRegions": ["ALL"],
}


def planned() -> object:
    return plan(
        RegionRecorderShip,
        [loaded("R/all.yaml", EVERYWHERE), loaded("R/team.yaml", TEAM)],
        index_data=INDEX_BYTES,
        delivery_mode=DeliveryMode.SQS,
        targets_per_unit=100,
    )


def test_each_unit_part_holds_exactly_its_slice_and_the_index_is_stored_once(tmp_path: Path) -> None:
    result = planned()
    root = parse_location(str(tmp_path / "snaps"))
    stored = store_snapshot(result.snapshot, root, unit_targets=result.unit_targets())
    assert len(stored.units) == len(result.units) > 2
    clear_cache()
    for unit, part in zip(result.units, stored.units, strict=True):
        header, targets = load_unit(stored.location, stored.header, part)
        assert list(header["templates"][unit.template]) == list(result.snapshot.templates[unit.template])
        assert targets == result.view.targets(unit.template)[unit.start : unit.stop]
    indexes = sorted((tmp_path / "snaps" / "RegionRecorderShip" / "index").iterdir())
    assert len(indexes) == 1
    written, content = indexes[0].stat().st_mtime_ns, indexes[0].read_bytes()
    os.utime(indexes[0], ns=(written - 10**12, written - 10**12))  # stored 1,000 s ago
    again = store_snapshot(result.snapshot, root, unit_targets=result.unit_targets())
    assert again.location == stored.location, "content-addressed"
    assert sorted((tmp_path / "snaps" / "RegionRecorderShip" / "index").iterdir()) == indexes
    assert indexes[0].read_bytes() == content
    assert indexes[0].stat().st_mtime_ns > written - 10**12, "in use again: touched, so retention keeps it"
    clear_cache()
    whole = load_snapshot(stored.location)
    assert whole == result.snapshot and whole.index == INDEX_BYTES


def test_a_tampered_part_or_index_copy_is_refused(tmp_path: Path) -> None:
    result = planned()
    stored = store_snapshot(result.snapshot, parse_location(str(tmp_path)), unit_targets=result.unit_targets())
    data = bytearray(Path(stored.location).read_bytes())
    part = stored.units[1]
    data[part.offset + part.length - 9] ^= 0xFF  # inside the gzip member's CRC trailer
    Path(stored.location).write_bytes(bytes(data))
    clear_cache()
    with pytest.raises(SnapshotError):
        load_unit(stored.location, stored.header, part)
    _, targets = load_unit(stored.location, stored.header, stored.units[0])  # the others still read
    assert len(targets) == result.units[0].size
    with pytest.raises(SnapshotError, match=r"not a gzip file \(CRC check failed\)|does not match its name"):
        load_snapshot(stored.location)


def test_unit_parts_are_ranged_reads_in_s3() -> None:
    result = planned()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="snapshots")
        stored = store_snapshot(result.snapshot, Location("snapshots", "runs/"), s3, result.unit_targets())
        clear_cache()
        unit, part = result.units[-1], stored.units[-1]
        _, targets = load_unit(stored.location, stored.header, part, lambda: s3)
        assert targets == result.view.targets(unit.template)[unit.start : unit.stop]
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="snapshots")["Contents"]}
        assert keys == {
            stored.location.removeprefix("s3://snapshots/"),
            f"runs/RegionRecorderShip/index/{result.snapshot.index_digest}.json.gz",
        }
        assert load_snapshot(stored.location, lambda: s3).index == INDEX_BYTES
