"""Loading the configuration folder: merge order, every problem collected, locations derived."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.config import ConfigurationError, load_configuration, resolve_config_dir
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "config_good"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def messages(configuration) -> list[str]:
    return [str(problem) for problem in configuration.errors]


MINIMAL_STARFLEET = """\
    STARFLEET:
      DeploymentRegion: us-east-1
      TemplateLocation: templates
      AccountIndexLocation: index.json
    """


# -- the good fixture -------------------------------------------------------------------------------


def test_good_fixture_loads_with_defaults_and_locations() -> None:
    configuration = load_configuration(GOOD)

    assert configuration.errors == []
    assert configuration.files == [GOOD / "ships.yml", GOOD / "starfleet.yaml"]
    assert configuration.raw["AccountNoteShip"]["NoteBucket"] == "account-notes"  # as written
    assert configuration.section_files == {
        "AccountNoteShip": GOOD / "ships.yml",
        "RegionNoteShip": GOOD / "ships.yml",
        "SingleRunShip": GOOD / "ships.yml",
        "IdleShip": GOOD / "ships.yml",
        "STARFLEET": GOOD / "starfleet.yaml",
    }
    starfleet = configuration.starfleet
    assert starfleet["deployment_region"] == "us-east-1"
    assert starfleet["log_level"] == "INFO"  # schema default applied
    assert starfleet["scope_to_regions"] == []
    assert configuration.base_dir == FIXTURES.resolve()
    assert configuration.template_location == Location(None, str(FIXTURES.resolve() / "templates_good"))
    assert configuration.account_index_location == Location(None, str(FIXTURES.resolve() / "index_small.json"))
    assert configuration.snapshot_location == Location(None, str(FIXTURES.resolve() / ".starfleet" / "snapshots"))


def test_loading_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("configuration loading tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert load_configuration(GOOD).errors == []


# -- where the folder is ----------------------------------------------------------------------------


def test_config_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STARFLEET_CONFIG_DIR", raising=False)
    assert resolve_config_dir(None) == tmp_path / "config"
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(tmp_path / "from-env"))
    assert resolve_config_dir(None) == tmp_path / "from-env"
    assert resolve_config_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_missing_and_empty_folders_are_reported(tmp_path: Path) -> None:
    assert messages(load_configuration(tmp_path / "nope")) == [f"{tmp_path / 'nope'}: no such configuration folder"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("STARFLEET: {}")
    assert messages(load_configuration(tmp_path / "empty")) == [
        f"{tmp_path / 'empty'}: no .yaml/.yml configuration files in the folder"
    ]


# -- merging ----------------------------------------------------------------------------------------


def test_files_merge_in_name_order_and_skip_non_yaml(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder, "b.yml", "ShipB: {Enabled: false, TemplatePrefix: b/}\n")
    write(folder, "a.yaml", MINIMAL_STARFLEET)
    write(folder, ".hidden.yaml", "Hidden: {}\n")
    write(folder, "c.json", '{"Json": {}}')
    write(folder, "empty.yaml", "# only a comment\n")

    configuration = load_configuration(folder)

    assert configuration.errors == []
    assert [p.name for p in configuration.files] == ["a.yaml", "b.yml", "empty.yaml"]
    assert list(configuration.raw) == ["STARFLEET", "ShipB"]


def test_section_defined_twice_names_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder, "a.yaml", MINIMAL_STARFLEET)
    write(folder, "b.yaml", "Ship: {Enabled: true}\n")
    write(folder, "c.yaml", "Ship: {Enabled: false}\n")

    configuration = load_configuration(folder)

    assert messages(configuration) == [
        f"{folder / 'c.yaml'}: Ship: section defined twice: in {folder / 'b.yaml'} and in {folder / 'c.yaml'}"
    ]
    assert configuration.raw["Ship"] == {"Enabled": True}  # the first definition is kept
    assert configuration.section_files["Ship"] == folder / "b.yaml"


def test_all_file_and_starfleet_problems_are_reported_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder, "a_broken.yaml", "Ship:\n  Enabled: true\n   TemplatePrefix: x/\n")
    write(folder, "b_list.yaml", "- just\n- a list\n")
    write(
        folder,
        "c_starfleet.yaml",
        """\
        STARFLEET:
          LogLevel: LOUD
          ScopeToRegions: [us-east-1, moon-base-1]
          IncludeInactiveAccounts: sometimes
        """,
    )

    configuration = load_configuration(folder)

    starfleet_file = folder / "c_starfleet.yaml"
    assert sorted(messages(configuration)) == sorted(
        [
            f"{folder / 'a_broken.yaml'}: invalid YAML at line 3, column 18: mapping values are not allowed here",
            f"{folder / 'b_list.yaml'}: expected a mapping of section name to settings, got list",
            f"{starfleet_file}: STARFLEET.DeploymentRegion: Missing data for required field.",
            f"{starfleet_file}: STARFLEET.LogLevel: Must be one of: CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET.",
            f"{starfleet_file}: STARFLEET.ScopeToRegions: unknown region moon-base-1;"
            " expected AWS region names such as us-east-1",
            f"{starfleet_file}: STARFLEET.IncludeInactiveAccounts: Not a valid boolean.",
            f"{starfleet_file}: STARFLEET.TemplateBucket: expected TemplateBucket (S3, as in Starfleet) or"
            " TemplateLocation (s3://bucket/prefix or a local folder)",
        ]
    )
    with pytest.raises(ConfigurationError) as raised:
        configuration.raise_for_errors()
    assert len(str(raised.value).splitlines()) == 7


def test_missing_starfleet_section(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder, "ships.yaml", "Ship: {Enabled: true}\n")
    assert messages(load_configuration(folder)) == [f"{folder}: STARFLEET: missing section; expected it in a YAML file"]


# -- Starfleet's S3 layout ------------------------------------------------------------------------------


def test_starfleet_file_loads_unchanged_with_s3_defaults(tmp_path: Path) -> None:
    """Starfleet's own layout: TemplateBucket plus a StarfleetDefaultAccountIndex section."""
    folder = tmp_path / "config"
    write(
        folder,
        "configuration.yaml",
        """\
        STARFLEET:
            DeploymentRegion: us-east-2
            TemplateBucket: org-templates
            FanOutQueueUrl: https://sqs.us-east-2.amazonaws.com/123456789012/starbase-fanout
            LogLevel: DEBUG
            ThirdPartyLoggerLevels:
                botocore: CRITICAL
                'urllib3.connectionpool': CRITICAL

        StarfleetDefaultAccountIndex:
            IndexBucket: org-index
            BucketRegion: us-east-2

        AccountIndexGeneratorShip:
          Enabled: True
          TemplatePrefix: AccountIndexGenerator/SaveAccountIndex.yaml
          InvocationQueueUrl: https://sqs.us-east-2.amazonaws.com/123456789012/account-index
          FanOutStrategy: SINGLE_INVOCATION
          InvocationSources:
              - EVENTBRIDGE_TIMED_EVENT
          EventBridgeTimedFrequency: HOURLY
          OrgAccountAssumeRole: starfleet-worker-role
          OrgAccountId: "123456789012"
          OrgRootId: r-abcd
          DescribeRegionsAssumeRole: starfleet-worker-role
        """,
    )

    configuration = load_configuration(folder)

    assert configuration.errors == []
    assert configuration.template_location == Location("org-templates", "")
    assert configuration.account_index_location == Location("org-index", "accountIndex.json")
    assert configuration.snapshot_location == Location("org-templates", "starfleet-airflow/snapshots/")
    assert configuration.starfleet["third_party_logger_levels"] == {
        "botocore": "CRITICAL",
        "urllib3.connectionpool": "CRITICAL",
    }


def test_index_location_needs_a_key_or_the_default_index_section(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(folder, "s.yaml", "STARFLEET: {DeploymentRegion: us-east-1, TemplateBucket: t}\n")
    assert messages(load_configuration(folder)) == [
        f"{folder / 's.yaml'}: STARFLEET.AccountIndexLocation: expected AccountIndexLocation (s3://bucket/key or a"
        " local file) or a StarfleetDefaultAccountIndex section with IndexBucket and IndexObjectPath"
    ]
    write(folder, "t.yaml", "StarfleetDefaultAccountIndex: {IndexObjectPath: idx.json}\n")
    assert messages(load_configuration(folder)) == [
        f"{folder / 't.yaml'}: StarfleetDefaultAccountIndex.IndexBucket: Missing data for required field.",
        f"{folder / 't.yaml'}: StarfleetDefaultAccountIndex.BucketRegion: Missing data for required field.",
    ]


def test_explicit_locations_win(tmp_path: Path) -> None:
    folder = tmp_path / "deploy" / "config"
    write(
        folder,
        "s.yaml",
        """\
        STARFLEET:
          DeploymentRegion: us-east-1
          TemplateBucket: starfleet-templates
          TemplateLocation: s3://other-bucket/templates/
          AccountIndexLocation: /srv/index/accountIndex.json
          SnapshotLocation: snapshots
        """,
    )
    configuration = load_configuration(folder)
    assert configuration.errors == []
    assert configuration.template_location == Location("other-bucket", "templates/")
    assert configuration.account_index_location == Location(None, "/srv/index/accountIndex.json")
    assert configuration.snapshot_location == Location(None, str((tmp_path / "deploy" / "snapshots").resolve()))


def test_bad_s3_location_is_a_keyed_problem(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    write(
        folder,
        "s.yaml",
        "STARFLEET: {DeploymentRegion: us-east-1, TemplateLocation: 's3://', AccountIndexLocation: i}\n",
    )
    assert messages(load_configuration(folder)) == [
        f"{folder / 's.yaml'}: STARFLEET.TemplateLocation: 's3://': expected s3://bucket/key"
    ]


# -- Starfleet's STARFLEET_CONFIGURATION ----------------------------------------------------------------


def test_starfleet_configuration_compat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad"
    write(bad, "s.yaml", "STARFLEET: {}\n")
    other = load_configuration(GOOD)
    with STARFLEET_CONFIGURATION.serving(other):  # whatever other tests left there is put back after
        STARFLEET_CONFIGURATION.reset()
        monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(GOOD))
        assert STARFLEET_CONFIGURATION.current is None
        assert STARFLEET_CONFIGURATION.config["AccountNoteShip"]["MaxNoteLength"] == 40  # loaded on first use
        assert STARFLEET_CONFIGURATION.config["STARFLEET"]["TemplateLocation"] == "templates_good"
        assert STARFLEET_CONFIGURATION.current is not None

        STARFLEET_CONFIGURATION.reset()
        monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(bad))
        with pytest.raises(ConfigurationError, match=r"STARFLEET\.DeploymentRegion: Missing data"):
            _ = STARFLEET_CONFIGURATION.config

        with STARFLEET_CONFIGURATION.serving(other):
            assert STARFLEET_CONFIGURATION.config is other.raw
        assert STARFLEET_CONFIGURATION.current is None
