"""Ship discovery: ship packages of a folder, the entry-point group, and what the configuration allows."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.registry import ShipRegistry, check_ship_class, discover_ships, load_ships
from starfleet_airflow.core.schemas import BaseAccountPayloadTemplate, WorkerShipBaseConfigurationTemplate
from starfleet_airflow.core.ship import RunContext, StarfleetWorkerShip

FIXTURES = Path(__file__).parent / "fixtures"
GOOD_CONFIG = FIXTURES / "config_good"
GOOD_SHIPS = FIXTURES / "ships_good"
BROKEN_SHIPS = FIXTURES / "ships_broken"


def config_with(tmp_path: Path, ships_yaml: str):
    """The good STARFLEET section plus the given ship sections."""
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(GOOD_CONFIG / "starfleet.yaml", folder / "starfleet.yaml")
    (folder / "ships.yaml").write_text(textwrap.dedent(ships_yaml))
    configuration = load_configuration(folder)
    assert configuration.errors == []
    return configuration


def problems(registry: ShipRegistry) -> list[str]:
    return [str(p) for p in registry.errors]


# -- the ships folder -------------------------------------------------------------------------------


def test_good_ships_load_disabled_and_unconfigured_are_listed() -> None:
    configuration = load_configuration(GOOD_CONFIG)
    registry = load_ships(configuration, GOOD_SHIPS, use_entry_points=False)

    assert registry.errors == []
    assert sorted(registry.ships) == ["AccountNoteShip", "RegionNoteShip", "SingleRunShip"]
    assert registry.disabled == ["IdleShip"]
    assert registry.unconfigured == ["UnconfiguredShip"]
    # the package without WORKER_SHIP_PLUGINS is skipped, not an error
    assert sorted(registry.discovered) == sorted([*registry.ships, "IdleShip", "UnconfiguredShip"])

    account = registry.ships["AccountNoteShip"]
    assert account.fan_out_strategy is FanOutStrategy.ACCOUNT
    assert account.source_file == GOOD_CONFIG / "ships.yml"
    assert account.raw_section["NoteBucket"] == "account-notes"
    assert account.configuration["note_bucket"] == "account-notes"  # validated, snake_case
    assert account.configuration["max_note_length"] == 40
    assert account.airflow_options["delivery_mode"] is DeliveryMode.INLINE
    assert account.airflow_options["failure_tolerance"] == {"count": 1}
    assert registry.ships["RegionNoteShip"].airflow_options["delivery_mode"] is DeliveryMode.SQS  # the default

    ship = account.instantiate(run_context=RunContext(dag_run_id="manual__1"))
    assert isinstance(ship, StarfleetWorkerShip)
    assert ship.configuration["note_bucket"] == "account-notes"
    assert ship.starfleet_configuration["deployment_region"] == "us-east-1"
    assert ship.run_context.dag_run_id == "manual__1"


def test_ships_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARFLEET_SHIPS_DIR", str(GOOD_SHIPS))
    registry = load_ships(load_configuration(GOOD_CONFIG), use_entry_points=False)
    assert sorted(registry.ships) == ["AccountNoteShip", "RegionNoteShip", "SingleRunShip"]


def test_broken_ships_are_reported_and_do_not_hide_the_others(tmp_path: Path) -> None:
    configuration = config_with(
        tmp_path,
        """\
        SurvivorShip: {Enabled: true, TemplatePrefix: s/, Airflow: {DeliveryMode: INLINE}}
        MismatchShip: {Enabled: true, TemplatePrefix: m/, Airflow: {DeliveryMode: INLINE}}
        """,
    )
    registry = load_ships(configuration, BROKEN_SHIPS, use_entry_points=False)

    assert list(registry.ships) == ["SurvivorShip"]
    assert registry.ships["SurvivorShip"].instantiate().execute() == "still here"
    by_ship = {p.ship: p for p in registry.errors}
    assert sorted(by_ship) == ["MismatchShip", "bad_plugin_list", "broken_import"]

    broken = by_ship["broken_import"]
    assert broken.file == str(BROKEN_SHIPS.resolve() / "broken_import")
    assert broken.message.startswith("cannot load ship package ")
    assert "ModuleNotFoundError: No module named 'starfleet_airflow_module_that_does_not_exist'" in broken.message
    assert broken.message.endswith(f"(at {BROKEN_SHIPS.resolve() / 'broken_import' / 'ship.py'}:3)")

    assert by_ship["bad_plugin_list"].message == (
        "cannot load ship package"
        f" {registry.discovered['SurvivorShip'].origin.rpartition('.')[0]}.bad_plugin_list:"
        " WORKER_SHIP_PLUGINS must be a list of ship classes, got str"
    )
    assert by_ship["MismatchShip"].message == (
        "refused: fan_out_strategy ACCOUNT_REGION needs a payload_template_class that subclasses"
        " BaseAccountRegionPayloadTemplate; BaseAccountPayloadTemplate does not"
    )
    assert "MismatchShip failed to load" in registry.why_not_loaded("MismatchShip")


def test_ship_sections_are_validated_with_every_problem_keyed(tmp_path: Path) -> None:
    configuration = config_with(
        tmp_path,
        """\
        AccountNoteShip:
          Enabled: true
          NoteBucket: notes
          MaxNoteLength: many
          Airflow: {DeliveryMode: INLINE, Concurrency: 0}
        RegionNoteShip:
          Enabled: false
          TemplatePrefix: r/
          InvocationSources: [EVENTBRIDGE_TIMED_EVENT]
        SingleRunShip: [not, a, mapping]
        IdleShip:
          Enabled: false
          TemplatePrefix: i/
          Airflow: {DeliveryMode: INLINE}
        """,
    )
    registry = load_ships(configuration, GOOD_SHIPS, use_entry_points=False)

    ships_file = tmp_path / "config" / "ships.yaml"
    assert registry.ships == {}
    assert sorted(problems(registry)) == sorted(
        [
            f"{ships_file}: AccountNoteShip.TemplatePrefix: Missing data for required field.",
            f"{ships_file}: AccountNoteShip.MaxNoteLength: Not a valid integer.",
            f"{ships_file}: AccountNoteShip.Airflow.Concurrency: Must be greater than or equal to 1 and less than"
            " or equal to 256.",
            # validated although disabled, as Starfleet does
            f"{ships_file}: RegionNoteShip.EventBridgeTimedFrequency: required when InvocationSources lists"
            " EVENTBRIDGE_TIMED_EVENT; expected one of FIVE_MIN, FIFTEEN_MIN, THIRTY_MIN, HOURLY, SIX_HOURLY,"
            " TWELVE_HOURLY, DAILY",
            f"{ships_file}: RegionNoteShip.InvocationQueueUrl: required for SQS delivery (the default); set it,"
            " or set Airflow.DeliveryMode: INLINE",
            f"{ships_file}: SingleRunShip: expected a mapping, got list",
        ]
    )
    assert registry.disabled == ["IdleShip"]


def test_default_ships_package_is_discovered() -> None:
    """Without a folder, the repository's ``ships`` package is searched (as installed)."""
    import ships

    discovered, errors = discover_ships(None, use_entry_points=False)
    assert errors == []
    assert discovered, "the repository's ships package holds ship plugins"
    for ship in discovered.values():
        assert ship.origin.startswith("ships.")
        assert Path(sys.modules[ship.ship_class.__module__].__file__).is_relative_to(Path(ships.__path__[0]))


# -- the entry-point group ---------------------------------------------------------------------------


PLUGIN_MODULE = """\
from starfleet_airflow.core.schemas import WorkerShipBaseConfigurationTemplate, WorkerShipPayloadBaseTemplate
from starfleet_airflow.core.ship import StarfleetWorkerShip


class {name}(StarfleetWorkerShip):
    payload_template_class = WorkerShipPayloadBaseTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate

    def execute(self, commit=False):
        return "{name} from a pip package"
"""


@pytest.fixture
def plugin_distribution(tmp_path: Path) -> Iterator[Path]:
    """A real installed distribution (dist-info with entry_points.txt) on sys.path, removed afterwards."""
    site = tmp_path / "site"
    (site / "teamships").mkdir(parents=True)
    (site / "teamships" / "__init__.py").write_text("")
    (site / "teamships" / "single.py").write_text(PLUGIN_MODULE.format(name="TeamClassShip"))
    (site / "teamships" / "bundle.py").write_text(
        PLUGIN_MODULE.format(name="TeamBundleShip") + "\nWORKER_SHIP_PLUGINS = [TeamBundleShip]\n"
    )
    (site / "teamships" / "other.py").write_text("VALUE = 42\n")
    dist_info = site / "teamships-1.2.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: teamships\nVersion: 1.2.0\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [starfleet_airflow.ships]
            team_class = teamships.single:TeamClassShip
            team_bundle = teamships.bundle
            team_missing = teamships.nowhere:Ship
            team_wrong = teamships.other
            """
        )
    )
    sys.path.insert(0, str(site))
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m == "teamships" or m.startswith("teamships.")]:
            del sys.modules[name]


def test_entry_point_plugins_load_and_broken_ones_are_reported(plugin_distribution: Path, tmp_path: Path) -> None:
    configuration = config_with(
        tmp_path,
        """\
        TeamClassShip: {Enabled: true, TemplatePrefix: c/, Airflow: {DeliveryMode: INLINE}}
        TeamBundleShip: {Enabled: true, TemplatePrefix: b/, Airflow: {DeliveryMode: INLINE}}
        SurvivorShip: {Enabled: true, TemplatePrefix: s/, Airflow: {DeliveryMode: INLINE}}
        """,
    )
    registry = load_ships(configuration, BROKEN_SHIPS)

    assert sorted(registry.ships) == ["SurvivorShip", "TeamBundleShip", "TeamClassShip"]
    assert registry.ships["TeamClassShip"].instantiate().execute() == "TeamClassShip from a pip package"
    assert registry.ships["TeamBundleShip"].origin == "entry point team_bundle = teamships.bundle from teamships 1.2.0"
    by_ship = {p.ship: p.message for p in registry.errors}
    assert by_ship["team_missing"].startswith(
        "cannot load entry point team_missing = teamships.nowhere:Ship from teamships 1.2.0: ModuleNotFoundError"
    )
    assert by_ship["team_wrong"] == (
        "cannot load entry point team_wrong = teamships.other from teamships 1.2.0: expected a"
        f" StarfleetWorkerShip subclass or a module with WORKER_SHIP_PLUGINS, got {sys.modules['teamships.other']!r}"
    )

    without = load_ships(configuration, BROKEN_SHIPS, use_entry_points=False)
    assert list(without.ships) == ["SurvivorShip"]


def test_two_ships_with_one_name_are_an_error(plugin_distribution: Path, tmp_path: Path) -> None:
    (plugin_distribution / "teamships" / "clash.py").write_text(PLUGIN_MODULE.format(name="SurvivorShip"))
    with (plugin_distribution / "teamships-1.2.0.dist-info" / "entry_points.txt").open("a") as handle:
        handle.write("clash = teamships.clash:SurvivorShip\n")

    discovered, errors = discover_ships(BROKEN_SHIPS)

    assert discovered["SurvivorShip"].origin.endswith(".survivor")  # the ships folder wins
    assert [str(e) for e in errors if e.ship == "SurvivorShip"] == [
        "<ships>: SurvivorShip: two ships share this name: "
        f"{discovered['SurvivorShip'].origin} and entry point clash = teamships.clash:SurvivorShip from teamships"
        " 1.2.0; kept the first"
    ]


def test_account_payload_on_account_ship_is_accepted() -> None:
    """The refusal is about the strategy's needs, not the exact class: a subclass is fine."""

    class Payload(BaseAccountPayloadTemplate):
        pass

    class Fine(StarfleetWorkerShip):
        fan_out_strategy = FanOutStrategy.ACCOUNT
        payload_template_class = Payload
        configuration_template_class = WorkerShipBaseConfigurationTemplate

    assert check_ship_class(Fine) == []

    class NotASchema(StarfleetWorkerShip):
        fan_out_strategy = "ACCOUNT"
        payload_template_class = dict
        configuration_template_class = None

    assert check_ship_class(NotASchema) == [
        "fan_out_strategy must be a FanOutStrategy, got 'ACCOUNT'",
        "configuration_template_class must be a subclass of WorkerShipBaseConfigurationTemplate, got None",
        "payload_template_class must be a subclass of WorkerShipPayloadBaseTemplate, got <class 'dict'>",
    ]
