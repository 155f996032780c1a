"""Template listing and loading: local folder and S3 (moto) behave the same, bad templates never block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.templates import (
    LoadedTemplate,
    TemplateError,
    TemplateStore,
    load_template_file,
    select_templates,
    template_name_matches,
    validate_template,
)

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = FIXTURES / "templates_good"
SHIPS = FIXTURES / "ships_good"

# A tree where Starfleet's prefix rule matters: "Notes" (no slash) also matches "NotesArchive/...".
TREE = {
    "Notes/a.yaml": b"TemplateName: A\nTemplateDescription: first\n",
    "Notes/deep/er/b.yaml": b"TemplateName: B\nTemplateDescription: nested\n",
    "Notes/readme.txt": b"not a template",
    "Notes/broken.yaml": b"TemplateName: [unclosed\n",
    "Notes/list.yaml": b"- a\n- b\n",
    "Notes/empty.yaml": b"",
    "NotesArchive/old.yaml": b"TemplateName: Old\nTemplateDescription: archived\n",
    "Other/c.yaml": b"TemplateName: C\nTemplateDescription: other ship\n",
}


def local_store(root: Path) -> TemplateStore:
    for key, data in TREE.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    return TemplateStore(Location(None, str(root)))


@pytest.fixture
def s3_client() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="templates")
        yield client


def s3_store(client, root_key: str) -> TemplateStore:
    for key, data in TREE.items():
        client.put_object(Bucket="templates", Key=root_key + key, Body=data)
    client.put_object(Bucket="templates", Key="elsewhere/Notes/x.yaml", Body=b"TemplateName: X\n")
    return TemplateStore(Location("templates", root_key), client)


@pytest.fixture(params=["local", "s3-bucket-root", "s3-under-a-prefix"])
def store(request, tmp_path: Path) -> TemplateStore:
    if request.param == "local":
        return local_store(tmp_path)
    client = request.getfixturevalue("s3_client")
    return s3_store(client, "" if request.param == "s3-bucket-root" else "starfleet/templates/")


# -- listing ---------------------------------------------------------------------------------------------


def test_prefix_listing_follows_s3_rules_in_every_store(store: TemplateStore) -> None:
    assert store.list("Notes/") == [
        "Notes/a.yaml",
        "Notes/broken.yaml",
        "Notes/deep/er/b.yaml",
        "Notes/empty.yaml",
        "Notes/list.yaml",
    ]
    assert store.list("Notes") == [*store.list("Notes/"), "NotesArchive/old.yaml"]
    assert store.list("Notes/deep") == ["Notes/deep/er/b.yaml"]
    assert store.list("Nobody/") == []


def test_a_yaml_prefix_names_one_template_without_listing(store: TemplateStore) -> None:
    assert store.list("Other/c.yaml") == ["Other/c.yaml"]
    assert store.list("Other/missing.yaml") == ["Other/missing.yaml"]  # its load reports it
    missing = store.load("Other/missing.yaml")
    assert missing.raw is None
    assert missing.error.startswith(f"cannot read the template ({store.location_of('Other/missing.yaml')}: cannot read")


def test_bad_templates_carry_their_error_and_the_others_load(store: TemplateStore) -> None:
    loaded = {t.key: t for t in store.load_all("Notes")}

    assert loaded["Notes/a.yaml"].raw == {"TemplateName": "A", "TemplateDescription": "first"}
    assert loaded["Notes/deep/er/b.yaml"].name == "B"
    assert loaded["NotesArchive/old.yaml"].ok
    assert loaded["Notes/broken.yaml"].error == (
        "invalid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'"
    )
    assert loaded["Notes/list.yaml"].error == "expected a mapping of template fields, got list"
    assert loaded["Notes/empty.yaml"].error == "expected a mapping of template fields, got nothing"
    assert str(loaded["Notes/a.yaml"].location) == str(store.location_of("Notes/a.yaml"))


def test_missing_local_root_and_missing_bucket_are_listing_errors(tmp_path: Path, s3_client) -> None:
    with pytest.raises(TemplateError, match="no such folder"):
        TemplateStore(Location(None, str(tmp_path / "nope"))).list("Notes/")
    with pytest.raises(TemplateError, match="NoSuchBucket"):
        TemplateStore(Location("no-such-bucket", ""), s3_client).list("Notes/")


def test_s3_needs_a_client() -> None:
    with pytest.raises(TemplateError, match="an S3 client is needed"):
        TemplateStore(Location("templates", "")).list("Notes/")


# -- validation and selection ------------------------------------------------------------------------------


def ship_class(name: str):
    from starfleet_airflow.core.registry import discover_ships

    discovered, _ = discover_ships(SHIPS, use_entry_points=False)
    return discovered[name].ship_class


def test_validate_template_with_the_ship_schema() -> None:
    region_ship = ship_class("RegionNoteShip")
    good = load_template_file(TEMPLATES / "RegionNoteShip" / "regions.yaml")
    payload, errors = validate_template(region_ship, good.raw)
    assert errors == []
    assert payload["note"] == "hello regions"
    assert payload["include_regions"] == {"us-east-1", "eu-west-1"}

    bad = {
        "TemplateName": "Bad",
        "IncludeAccounts": {"AllAccounts": True, "ByIds": ["12345678901"]},
        "IncludeRegions": ["us-east-1", "atlantis-1"],
    }
    payload, errors = validate_template(region_ship, bad)
    assert payload is None
    assert sorted(errors) == sorted(
        [
            "TemplateDescription: Missing data for required field.",
            "Note: Missing data for required field.",
            "IncludeAccounts.ByIds.0: expected a 12-digit AWS account id, got '12345678901'",
            "IncludeAccounts.ByIds: cannot be combined with AllAccounts: true",
            "IncludeRegions: unknown region atlantis-1; expected AWS region names such as us-east-1",
        ]
    )


def test_template_file_errors() -> None:
    missing = load_template_file(FIXTURES / "no-such.yaml")
    assert missing.error == "cannot read the template (No such file or directory)"


def test_template_selection_by_key_file_name_or_template_name() -> None:
    template = LoadedTemplate(
        "AccountNoteShip/nested/everywhere.yaml", {"TemplateName": "EverywhereNote"}, None, Location(None, "x")
    )
    prefix = "AccountNoteShip/"
    for selector in [
        "AccountNoteShip/nested/everywhere.yaml",
        "AccountNoteShip/nested/everywhere",
        "nested/everywhere.yaml",
        "nested/everywhere",
        "everywhere.yaml",
        "everywhere",
        "EverywhereNote",
    ]:
        assert template_name_matches(template, selector, prefix), selector
    for selector in ["everywhere.yml", "Everywhere", "nested", "AccountNoteShip"]:
        assert not template_name_matches(template, selector, prefix), selector

    other = LoadedTemplate(
        "AccountNoteShip/production.yaml", {"TemplateName": "ProductionNote"}, None, Location(None, "y")
    )
    chosen, unmatched = select_templates([template, other], ["production", "EverywhereNote", "typo"], prefix)
    assert [t.key for t in chosen] == [template.key, other.key]
    assert unmatched == ["typo"]
