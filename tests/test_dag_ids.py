"""Two ships whose names map to one dag_id: neither silently replaces the other, and validate fails.

``IAMRoleShip`` and ``IamRoleShip`` are different sections and classes, but both become
``starfleet_iam_role_ship``. The run history is keyed by dag_id, so no DAG takes that id: one broken DAG
names both ships, and ``starfleet-airflow validate`` says which to rename.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from starfleet_airflow.airflow.dags import build_dags
from starfleet_airflow.airflow.naming import dag_id_for
from starfleet_airflow.tools.cli import main

SHIPS = '''\
from starfleet_airflow import (
    BaseAccountPayloadTemplate,
    FanOutStrategy,
    StarfleetWorkerShip,
    WorkerShipBaseConfigurationTemplate,
)


class IAMRoleShip(StarfleetWorkerShip):
    """One spelling."""

    fan_out_strategy = FanOutStrategy.ACCOUNT
    payload_template_class = BaseAccountPayloadTemplate
    configuration_template_class = WorkerShipBaseConfigurationTemplate


class IamRoleShip(IAMRoleShip):
    """The other spelling."""


class OtherShip(IAMRoleShip):
    """Unaffected."""


WORKER_SHIP_PLUGINS = [IAMRoleShip, IamRoleShip, OtherShip]
'''


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    ships = tmp_path / "ships"
    (ships / "roles").mkdir(parents=True)
    (ships / "roles" / "__init__.py").write_text(SHIPS)
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "index.json").write_text('{"accounts": {}}')
    starfleet = {"DeploymentRegion": "us-east-1", "TemplateLocation": "templates", "AccountIndexLocation": "index.json"}
    (config / "starfleet.yaml").write_text(yaml.safe_dump({"STARFLEET": starfleet}))
    for name in ("IAMRoleShip", "IamRoleShip", "OtherShip"):
        section = {"Enabled": True, "TemplatePrefix": f"{name}/", "Airflow": {"DeliveryMode": "INLINE"}}
        (config / f"{name}.yaml").write_text(yaml.safe_dump({name: section}))
    return config, ships


def test_both_ships_stay_visible_as_one_broken_dag(workspace: tuple[Path, Path]) -> None:
    config, ships = workspace
    assert dag_id_for("IAMRoleShip") == dag_id_for("IamRoleShip") == "starfleet_iam_role_ship"

    dags = build_dags(config, ships)

    assert "starfleet_iam_role_ship" not in dags, "neither ship may take the id: its run history would mix"
    broken = dags["starfleet_iam_role_ship__broken"]
    for name in ("IAMRoleShip", "IamRoleShip"):
        assert name in broken.description and name in broken.doc_md
        assert str(config / f"{name}.yaml") in broken.doc_md
    assert "starfleet_other_ship" in dags


def test_validate_fails_naming_both_ships(workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, ships = workspace
    assert main(["validate", "--config-dir", str(config), "--ships-dir", str(ships), "--no-entry-points"]) == 1
    err = capsys.readouterr().err
    expected = textwrap.dedent(
        """\
        IAMRoleShip and IamRoleShip both map to the DAG id starfleet_iam_role_ship; expected one ship per DAG id
        """
    ).strip()
    assert expected in err
