"""A template must survive JSON unchanged (it travels as a Starfleet SQS message): one check, one message.

YAML has values JSON does not (dates, timestamps, binary, sets, non-string keys, NaN, infinity). The
loader refuses them with a message naming the key, what was found and what to write instead, so
``validate``, ``render``, ``plan`` and the run all say the same thing about the same template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.enums import DeliveryMode
from starfleet_airflow.core.plan import plan_run
from starfleet_airflow.core.templates import LoadedTemplate, parse_template_bytes
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from starfleet_airflow.tools.cli import main
from tests.fixtures.factory_ships.recorders import OnceRecorderShip
from tests.test_yaml_bounds import copied_workspace

HEAD = "TemplateName: T\nTemplateDescription: d\nIncludeAccounts: {AllAccounts: true}\nNote: n\n"

CASES = {
    "date": ("When: 2024-01-01\n", "When: a YAML date (2024-01-01) cannot be encoded as JSON; quote it: '2024-01-01'"),
    "timestamp": (
        "At: 2024-01-01 10:30:00\n",
        "At: a YAML timestamp (2024-01-01 10:30:00) cannot be encoded as JSON; quote it: '2024-01-01 10:30:00'",
    ),
    "binary": (
        "Blob: !!binary aGVsbG8=\n",
        "Blob: YAML binary data (!!binary) cannot be encoded as JSON; write the base64 text without the !!binary tag",
    ),
    "int-key": (
        "Accounts:\n  123456789012: prod\n",
        "Accounts: the key 123456789012 is a YAML int; JSON keys are strings: quote it: '123456789012'",
    ),
    "nan": ("Threshold: .nan\n", "Threshold: NaN (YAML .nan) is not a JSON number; use a number or a quoted string"),
    "infinity": (
        "Nested: {Limit: [1, -.inf]}\n",
        "Nested.Limit.1: -infinity (YAML -.inf) is not a JSON number; use a number or a quoted string",
    ),
    "set": ("Names: !!set {a, b}\n", "Names: a YAML set (!!set) cannot be encoded as JSON; use a list"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_loader_refuses_values_json_cannot_carry_with_one_message(case: str) -> None:
    text, message = CASES[case]
    raw, error = parse_template_bytes((HEAD + text).encode())
    assert (raw, error) == (None, message)


def test_every_problem_is_listed() -> None:
    raw, error = parse_template_bytes((HEAD + "When: 2024-01-01\nThreshold: .nan\n").encode())
    assert raw is None and error is not None
    assert error.startswith("When: a YAML date") and "; Threshold: NaN" in error


def test_plan_reports_the_same_message(tmp_path: Path) -> None:
    text, message = CASES["nan"]
    raw, error = parse_template_bytes((HEAD + text).encode())
    template = LoadedTemplate("OnceRecorderShip/nan.yaml", raw, error, Location(None, "nan.yaml"))
    # A template built in memory (not read by the loader) goes through the same check.
    in_memory = LoadedTemplate(
        "OnceRecorderShip/mem.yaml",
        {"TemplateName": "M", "TemplateDescription": "d", "Threshold": float("nan")},
        None,
        Location(None, "mem.yaml"),
    )
    result = plan_run(
        OnceRecorderShip,
        index_data=sample_organisation(),
        index_source="sample",
        templates=[template, in_memory],
        template_prefix="OnceRecorderShip/",
        delivery_mode=DeliveryMode.INLINE,
        max_units=1024,
    )
    assert {i.key: i.errors for i in result.invalid} == {
        "OnceRecorderShip/nan.yaml": [message],
        "OnceRecorderShip/mem.yaml": [message],
    }


@pytest.mark.parametrize("case", ["date", "int-key", "nan"])
def test_validate_and_render_say_what_the_run_says(case: str, tmp_path: Path, capsys: Any) -> None:
    text, message = CASES[case]
    options = copied_workspace(tmp_path, {"odd.yaml": HEAD + text})
    where = tmp_path / "templates_good" / "AccountNoteShip" / "odd.yaml"

    assert main(["validate", *options]) == 1
    assert f"{where}: {message}" in capsys.readouterr().err.splitlines()

    assert main(["render", "AccountNoteShip", "--template", "odd", "--account", "111111111111", *options]) == 1
    assert f"{where}: {message}" in capsys.readouterr().err.splitlines()
