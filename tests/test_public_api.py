"""The public ship API: one stable import place (``from starfleet_airflow import ...``) for ship authors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import starfleet_airflow


def test_all_lists_exactly_the_exported_names():
    assert sorted(starfleet_airflow.__all__) == sorted(starfleet_airflow._EXPORTS)


@pytest.mark.parametrize("name", sorted(starfleet_airflow._EXPORTS))
def test_every_name_resolves_from_the_module_the_table_names(name):
    import importlib

    value = getattr(starfleet_airflow, name)
    home = importlib.import_module(starfleet_airflow._EXPORTS[name])
    assert getattr(home, name) is value


def test_an_unknown_name_says_what_the_api_offers():
    with pytest.raises(AttributeError, match=r"no attribute 'StarfleetWorkShip'.*StarfleetWorkerShip"):
        starfleet_airflow.StarfleetWorkShip  # noqa: B018


def test_importing_the_package_loads_neither_airflow_nor_boto3():
    # The DAG file imports the package at every parse: its names load lazily, on first use.
    code = (
        "import sys, starfleet_airflow; "
        "print(sorted(m for m in ('airflow', 'boto3', 'marshmallow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_ship_written_against_the_api_loads_and_runs(tmp_path):
    from starfleet_airflow import BaseAccountPayloadTemplate, FanOutStrategy, StarfleetWorkerShip
    from starfleet_airflow import WorkerShipBaseConfigurationTemplate as BaseConfig

    class ApiShip(StarfleetWorkerShip):
        fan_out_strategy = FanOutStrategy.ACCOUNT
        payload_template_class = BaseAccountPayloadTemplate
        configuration_template_class = BaseConfig

        def execute(self, commit: bool = False) -> dict[str, object]:
            return {"account": self.payload["starbase_assigned_account"], "commit": commit}

    ship = ApiShip()
    ship.load_template(
        {
            "TemplateName": "t",
            "TemplateDescription": "d",
            "IncludeAccounts": {"AllAccounts": True},
            "StarbaseAssignedAccount": "123456789012",
        }
    )
    assert ship.execute(commit=True) == {"account": "123456789012", "commit": True}
