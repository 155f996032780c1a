"""The stack's benchmark profile and what the stack benchmark reads back, without the stack (that is the benchmark).

The profile (stack/benchmark/) must load as the stack loads it, its templates must select the runs the benchmark
quotes (84,983 messages, 500 accounts), and the stack settings must take a profile without changing the default.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.devtools.benchmarks import stack as stack_benchmark
from starfleet_airflow.devtools.benchmarks.stack_runs import PROFILE_CONFIG, SQS_CONN_ID, summarise
from starfleet_airflow.devtools.stack.settings import StackError, StackSecrets, StackSettings, airflow_environment
from starfleet_airflow.devtools.synthetic_org import build_index

PROFILE = PROFILE_CONFIG.parent


def _profile_settings(tmp_path: Path) -> StackSettings:
    return StackSettings.from_environment(
        {"STARFLEET_STACK_DIR": str(tmp_path), "STARFLEET_STACK_CONFIG_DIR": str(PROFILE_CONFIG)}
    )


def test_a_profile_brings_its_configuration_and_ships_to_every_component(tmp_path: Path) -> None:
    settings = _profile_settings(tmp_path)
    env = airflow_environment(settings, StackSecrets.load_or_create(tmp_path / "secrets.json"))
    assert settings.config_dir == PROFILE_CONFIG
    assert env["STARFLEET_CONFIG_DIR"] == str(PROFILE_CONFIG)
    assert env["STARFLEET_SHIPS_DIR"] == str(PROFILE / "ships")


def test_the_default_stack_keeps_its_configuration_and_the_ships_package(tmp_path: Path) -> None:
    settings = StackSettings.from_environment({"STARFLEET_STACK_DIR": str(tmp_path)})
    env = airflow_environment(settings, StackSecrets.load_or_create(tmp_path / "secrets.json"))
    assert settings.config_dir == settings.repo / "stack" / "config"
    assert settings.ships_dir is None and "STARFLEET_SHIPS_DIR" not in env


def test_a_missing_profile_folder_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"STARFLEET_STACK_CONFIG_DIR=.*expected a configuration folder"):
        StackSettings.from_environment(
            {"STARFLEET_STACK_DIR": str(tmp_path), "STARFLEET_STACK_CONFIG_DIR": str(tmp_path / "nope")}
        )


def test_the_profile_loads_its_two_no_op_ships_on_s3_locations() -> None:
    configuration = load_configuration(PROFILE_CONFIG)
    registry = load_ships(configuration, PROFILE / "ships", use_entry_points=False)
    assert not configuration.errors and not registry.errors
    assert sorted(registry.ships) == ["NoOpAccountShip", "NoOpRegionShip"]
    region, account = registry.ships["NoOpRegionShip"], registry.ships["NoOpAccountShip"]
    assert region.airflow_options["delivery_mode"] is DeliveryMode.SQS
    assert region.airflow_options["aws_conn_id"] == SQS_CONN_ID
    assert account.airflow_options["delivery_mode"] is DeliveryMode.INLINE
    for location in (configuration.template_location, configuration.account_index_location):
        assert location is not None and location.is_s3
    # The stack skips AccountIndexGeneratorShip for a profile without it: the benchmark uploads its own index.
    assert configuration.section("AccountIndexGeneratorShip") is None


@pytest.mark.parametrize(
    ("ship", "strategy", "index", "targets"),
    [
        ("NoOpRegionShip", FanOutStrategy.ACCOUNT_REGION, build_index(5_000, 17, fewer_regions_every=10**9), 84_983),
        ("NoOpAccountShip", FanOutStrategy.ACCOUNT, build_index(stack_benchmark.INLINE_ACCOUNTS, 3), 500),
    ],
)
def test_the_profile_templates_select_the_runs_the_benchmark_quotes(
    ship: str, strategy: FanOutStrategy, index: dict, targets: int
) -> None:
    registry = load_ships(load_configuration(PROFILE_CONFIG), PROFILE / "ships", use_entry_points=False)
    (template,) = sorted((PROFILE / "templates" / ship).glob("*.yaml"))
    payload = registry.ships[ship].ship_class.payload_template_class().load(yaml.safe_load(template.read_text()))
    assert registry.ships[ship].ship_class.fan_out_strategy is strategy
    resolved = resolve_targets(payload, AccountIndex.from_dict(index), strategy)
    assert len(resolved) == targets


def _ti(map_index: int, host: str, start: str, end: str | None) -> dict:
    return {
        "task_id": "deliver",
        "map_index": map_index,
        "hostname": host,
        "start_date": start,
        "end_date": end,
        "state": "success" if end else "running",
        "rendered_map_index": f"Everywhere: unit {map_index}",
    }


def test_a_run_is_summarised_from_what_the_rest_api_returns() -> None:
    run = {
        "dag_run_id": "benchmark-1",
        "state": "success",
        "queued_at": "2026-12-01T10:00:00.000000Z",
        "end_date": "2026-12-01T10:00:21.500000Z",
    }
    tis = [
        {"task_id": "plan", "map_index": -1, "hostname": "w1", "start_date": "2026-12-01T10:00:01Z"},
        _ti(1, "w2", "2026-12-01T10:00:06.000000Z", "2026-12-01T10:00:09.000000Z"),
        _ti(0, "w1", "2026-12-01T10:00:05.000000Z", "2026-12-01T10:00:08.250000Z"),
        _ti(2, "w1", "2026-12-01T10:00:07.000000Z", "2026-12-01T10:00:10.500000Z"),
    ]
    summary = summarise(run, tis)
    assert summary.wall == 21.5 and summary.deliver_span == 5.5
    assert summary.per_worker == {"w1": 2, "w2": 1} and summary.deliver_tasks == 3
    assert summary.labels == ("Everywhere: unit 0", "Everywhere: unit 1", "Everywhere: unit 2")


def test_a_run_whose_deliver_tasks_did_not_all_end_is_refused_not_timed() -> None:
    run = {"dag_run_id": "benchmark-2", "state": "failed", "queued_at": "2026-12-01T10:00:00Z", "end_date": None}
    tis = [_ti(0, "w1", "2026-12-01T10:00:05Z", "2026-12-01T10:00:08Z"), _ti(1, "w2", "2026-12-01T10:00:06Z", None)]
    with pytest.raises(ValueError, match="benchmark-2: deliver tasks did not all start and end"):
        summarise(run, tis)
