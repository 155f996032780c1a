"""Message bodies: byte-for-byte what Starfleet's Starbase sends, whichever path builds them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from starfleet_airflow.core.render import BodyRenderer, RenderError, render_body

TEMPLATE_YAML = """
TemplateName: Baseline rôle
TemplateDescription: "Quotes \\" backslashes \\\\ and unicode: café ✓"
IncludeAccounts:
  AllAccounts: true
ExcludeAccounts:
  ByNames: [Sandbox]
IncludeRegions: [ALL]
ExcludeRegions: [ap-south-1]
Numbers: [1, 2.5, -3, 1.0e+20]
Flags: {enabled: true, disabled: false, nothing: null}
Nested:
  - Name: a
    Values: [x, y]
"""


def starbase_bodies(template: dict[str, Any], targets: list[tuple[str | None, str | None]]) -> list[str]:
    """Starfleet's algorithm as its Starbase runs it: mutate the loaded template, dump it per target."""
    bodies = []
    for account_id, region in targets:
        if account_id is not None:
            template["StarbaseAssignedAccount"] = account_id
            if region is not None:
                template["StarbaseAssignedRegion"] = region
        bodies.append(json.dumps(template))
    return bodies


@pytest.fixture
def template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE_YAML)


ACCOUNT_REGION_TARGETS = [
    ("000000000001", "eu-west-1"),
    ("000000000001", "us-east-1"),
    ("000000000002", "us-east-1"),
    ("000000000003", "ap-southeast-2"),
    ("000000000003", "eu-west-1"),
]
ACCOUNT_TARGETS = [("000000000001", None), ("000000000002", None), ("000000000003", None)]


@pytest.mark.parametrize(
    "targets",
    [ACCOUNT_REGION_TARGETS, ACCOUNT_TARGETS, [(None, None)]],
    ids=["ACCOUNT_REGION", "ACCOUNT", "SINGLE_INVOCATION"],
)
def test_bodies_equal_starbase_bodies(template: dict[str, Any], targets: list[tuple[str | None, str | None]]) -> None:
    expected = starbase_bodies(yaml.safe_load(TEMPLATE_YAML), targets)
    renderer = BodyRenderer(template)
    assert renderer.fast
    assert renderer.bodies(targets) == expected
    assert [renderer.body(a, r) for a, r in targets] == expected
    assert [render_body(template, a, r) for a, r in targets] == expected
    assert template == yaml.safe_load(TEMPLATE_YAML), "rendering must not modify the caller's template"


def test_bodies_parse_back_to_template_plus_assignment(template: dict[str, Any]) -> None:
    body = BodyRenderer(template).body("000000000001", "eu-west-1")
    assert json.loads(body) == {
        **template,
        "StarbaseAssignedAccount": "000000000001",
        "StarbaseAssignedRegion": "eu-west-1",
    }


def test_template_already_holding_the_keys_keeps_their_position(template: dict[str, Any]) -> None:
    # Starfleet overwrites the value in place; the key keeps its position in the output.
    template = {"StarbaseAssignedAccount": "stale", **template, "StarbaseAssignedRegion": "stale"}
    renderer = BodyRenderer(template)
    assert not renderer.fast
    expected = starbase_bodies(dict(template), ACCOUNT_REGION_TARGETS)
    assert renderer.bodies(ACCOUNT_REGION_TARGETS) == expected
    assert expected[0].startswith('{"StarbaseAssignedAccount": "000000000001", "TemplateName"')


def test_values_needing_escapes_and_empty_template() -> None:
    targets = [('12"3', "r\\1"), ("çà", None), ("4", "x y")]
    assert BodyRenderer({}).bodies(targets) == [render_body({}, a, r) for a, r in targets]
    assert BodyRenderer({}).body("1", "r") == '{"StarbaseAssignedAccount": "1", "StarbaseAssignedRegion": "r"}'
    assert BodyRenderer({"a": 1}).bodies(targets) == [render_body({"a": 1}, a, r) for a, r in targets]


def test_accounts_with_different_region_lists_share_no_state(template: dict[str, Any]) -> None:
    targets = [("1", "a"), ("1", "b"), ("2", "b"), ("3", "a"), ("3", "b"), ("4", None), ("5", "c")]
    assert BodyRenderer(template).bodies(targets) == [render_body(template, a, r) for a, r in targets]


def test_unencodable_template_is_a_clear_error() -> None:
    dated = yaml.safe_load("TemplateName: t\nWhen: 2024-01-01\n")  # YAML dates load as datetime.date
    with pytest.raises(RenderError, match="cannot be encoded as JSON"):
        BodyRenderer(dated)
    with pytest.raises(RenderError, match="cannot be encoded as JSON"):
        render_body(dated, "1", None)
