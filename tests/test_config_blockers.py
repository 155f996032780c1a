"""A ship that cannot be configured is its own broken DAG: never missing, never built from half a configuration.

Three ways a ship's configuration cannot be trusted: its file is not valid YAML (the section cannot be
read at all), its section is defined in two files (which one is meant?), or the STARFLEET section cannot
be used (every ship depends on it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from starfleet_airflow.airflow.dags import build_dags
from tests.airflow_fixtures import Deployment

SECTION = {"Enabled": True, "TemplatePrefix": "x/", "Airflow": {"DeliveryMode": "INLINE"}}


def write(deployment: Deployment, files: dict[str, str]) -> Path:
    deployment.write_index({"accounts": {}})
    return deployment.write(files)


def good(name: str) -> str:
    return yaml.safe_dump({name: SECTION})


def test_a_ship_in_a_file_that_is_not_yaml_is_its_own_broken_dag(deployment: Deployment) -> None:
    broken = "AccountRecorderShip:\n  Enabled: true\n TemplatePrefix: x/\n"  # bad indentation
    config = write(deployment, {"account.yaml": broken, "region.yaml": good("RegionRecorderShip")})

    dags = build_dags()

    assert "starfleet_region_recorder_ship" in dags, "the other ships still run"
    placeholder = dags["starfleet_account_recorder_ship__broken"]
    assert f"{config / 'account.yaml'}: AccountRecorderShip: invalid YAML at line 3, column 2" in placeholder.doc_md
    assert "(this file holds the AccountRecorderShip section, which cannot be read)" in placeholder.doc_md


def test_a_section_defined_twice_is_not_built_from_either_file(deployment: Deployment) -> None:
    config = write(deployment, {"a.yaml": good("AccountRecorderShip"), "b.yaml": good("AccountRecorderShip")})

    dags = build_dags()

    assert "starfleet_account_recorder_ship" not in dags
    doc = dags["starfleet_account_recorder_ship__broken"].doc_md
    assert f"section AccountRecorderShip is defined in {config / 'a.yaml'} and in {config / 'b.yaml'}" in doc


@pytest.mark.parametrize(
    "starfleet",
    ["STARFLEET: [not, a, mapping]\n", "STARFLEET:\n  DeploymentRegion: us-east-1\n TemplateLocation: x\n"],
    ids=["unusable", "not-yaml"],
)
def test_an_unusable_starfleet_section_leaves_every_configured_ship_visible(
    deployment: Deployment, starfleet: str
) -> None:
    config = write(deployment, {"region.yaml": good("RegionRecorderShip")})
    (config / "starfleet.yaml").write_text(starfleet)

    dags = build_dags()

    assert "starfleet_configuration__broken" in dags
    doc = dags["starfleet_region_recorder_ship__broken"].doc_md
    assert "RegionRecorderShip cannot be configured: the STARFLEET section cannot be used" in doc
    assert str(config / "starfleet.yaml") in doc
