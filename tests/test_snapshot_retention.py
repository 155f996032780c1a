"""Run snapshots are pruned: older than ``SnapshotMaxAgeDays`` and beyond the newest ``SnapshotKeepLatest``."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.snapshot import RunSnapshot, clear_cache, read_snapshot, store_snapshot
from starfleet_airflow.core.snapshot_retention import prune_snapshots
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from tests.airflow_fixtures import Deployment, run_dag

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_local_snapshots_beyond_the_newest_and_older_than_the_limit_are_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "Ship"
    folder.mkdir()
    for day in range(10):  # snapshot-0 is today's, snapshot-9 nine days old
        path = folder / f"snapshot-{day}.json.gz"
        path.write_bytes(b"x")
        stamp = (NOW - timedelta(days=day)).timestamp()
        os.utime(path, (stamp, stamp))
    (folder / "notes.txt").write_text("not a snapshot")

    deleted = prune_snapshots(Location(None, str(tmp_path)), "Ship", keep_latest=3, max_age_days=5, now=NOW)

    assert sorted(Path(d).name for d in deleted) == [f"snapshot-{d}.json.gz" for d in (6, 7, 8, 9)]
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"] + [f"snapshot-{d}.json.gz" for d in range(6)]


def test_the_newest_are_kept_however_old_and_zero_keeps_everything(tmp_path: Path) -> None:
    (tmp_path / "Ship").mkdir()
    for day in range(4):
        path = tmp_path / "Ship" / f"s{day}.json.gz"
        path.write_bytes(b"x")
        stamp = (NOW - timedelta(days=100 + day)).timestamp()
        os.utime(path, (stamp, stamp))
    root = Location(None, str(tmp_path))
    assert prune_snapshots(root, "Ship", keep_latest=4, max_age_days=5, now=NOW) == []
    assert prune_snapshots(root, "Ship", keep_latest=1, max_age_days=0, now=NOW) == []
    assert len(prune_snapshots(root, "Ship", keep_latest=1, max_age_days=5, now=NOW)) == 3


def test_s3_snapshots_are_pruned_too() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="snaps")
        for i in range(5):
            s3.put_object(Bucket="snaps", Key=f"runs/Ship/{i}.json.gz", Body=b"x")
        s3.put_object(Bucket="snaps", Key="runs/Other/keep.json.gz", Body=b"x")
        later = datetime.now(timezone.utc) + timedelta(days=40)
        deleted = prune_snapshots(
            Location("snaps", "runs/"), "Ship", keep_latest=2, max_age_days=30, now=later, s3_client=s3
        )
        left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="snaps")["Contents"])
    assert len(deleted) == 3 and all(d.startswith("s3://snaps/runs/Ship/") for d in deleted)
    assert len([k for k in left if k.startswith("runs/Ship/")]) == 2 and "runs/Other/keep.json.gz" in left


@pytest.mark.usefixtures("airflow_db")
def test_each_plan_prunes_its_ship_snapshots(deployment: Deployment) -> None:
    deployment.write_index(sample_organisation())
    deployment.starfleet |= {"SnapshotKeepLatest": 1, "SnapshotMaxAgeDays": 0.000001}  # ~0.1 s
    deployment.ships["OnceRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "OnceRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE"},
    }
    folder = deployment.root / "snapshots" / "OnceRecorderShip"
    for name in ("first", "second"):
        deployment.add_template("OnceRecorderShip/t.yaml", {"TemplateName": name, "TemplateDescription": "d"})
        deployment.write()
        assert run_dag("starfleet_once_recorder_ship").state == "success"
    assert len(list(folder.glob("*.json.gz"))) == 1, "the first run's snapshot was pruned by the second plan"


def _age(path: Path, days: float) -> None:
    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))


def test_index_copies_are_pruned_by_age_and_a_run_that_uses_one_again_keeps_it(tmp_path: Path) -> None:
    """Format-2 snapshots keep the index in ``<ship>/index/``; reuse touches it, so a kept run can read it."""
    root = Location(None, str(tmp_path))

    def store(index: bytes, name: str) -> str:
        snapshot = RunSnapshot(ship="Ship", index=index, templates={"t.yaml": {"TemplateName": name}})
        return store_snapshot(snapshot, root).location

    first, second = b'{"accounts":{},"generated":"first"}', b'{"accounts":{},"generated":"second"}'
    store(first, "a")
    store(second, "b")
    for path in (tmp_path / "Ship").rglob("*.json.gz"):
        _age(path, 100)
    reused = store(first, "c")  # a new run on the first index: its copy is in use again
    clear_cache()

    deleted = prune_snapshots(root, "Ship", keep_latest=1, max_age_days=30)

    assert len(deleted) == 3, deleted  # the two old run snapshots and the second index's copy
    assert sorted(p.relative_to(tmp_path / "Ship").parts[0] for p in (tmp_path / "Ship").rglob("*.json.gz")) == [
        Path(reused).name,
        "index",
    ]
    assert read_snapshot(reused).index == first


def test_s3_index_copies_are_not_counted_as_run_snapshots() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="snaps")
        for key in ("runs/Ship/a.json.gz", "runs/Ship/b.json.gz", "runs/Ship/index/i.json.gz"):
            s3.put_object(Bucket="snaps", Key=key, Body=b"x")
        later = datetime.now(timezone.utc) + timedelta(days=40)
        deleted = prune_snapshots(
            Location("snaps", "runs/"), "Ship", keep_latest=1, max_age_days=30, now=later, s3_client=s3
        )
        left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="snaps")["Contents"])
    assert len(deleted) == 1 and "/index/" not in deleted[0]
    assert "runs/Ship/index/i.json.gz" in left and len(left) == 2


def test_s3_index_copy_reused_by_a_second_run_is_touched_in_place() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="snaps")
        root = Location("snaps", "runs/")
        index = b'{"accounts":{}}'
        for name in ("a", "b"):
            snapshot = RunSnapshot(ship="Ship", index=index, templates={"t.yaml": {"TemplateName": name}})
            location = store_snapshot(snapshot, root, s3).location
        clear_cache()
        copies = [o["Key"] for o in s3.list_objects_v2(Bucket="snaps", Prefix="runs/Ship/index/")["Contents"]]
        assert len(copies) == 1
        assert s3.head_object(Bucket="snaps", Key=copies[0])["ContentType"] == "application/gzip"
        assert read_snapshot(location, s3).index == index
