"""Property-based fuzzing (hypothesis): no input raises anything but the project's own named errors.

Covered: the template loader (bytes, and YAML assembled from hostile fragments: anchors, aliases, tags,
dates, NaN, deep nesting), template validation and resolution against generated indexes, the account
index loader, the trigger's narrowing through the plan, and the Lambda handler's batches.

CI runs a bounded, derandomised number of examples per property (``tests/conftest.py``); a human runs
more with ``STARFLEET_FUZZ_EXAMPLES=5000 scripts/test.sh tests/test_fuzz.py --hypothesis-show-statistics``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core.account_index import AccountIndex, AccountIndexError
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import Narrowing, PlanError, PlanRefused, plan_run
from starfleet_airflow.core.registry import load_ships
from starfleet_airflow.core.resolve import resolve_targets
from starfleet_airflow.core.templates import LoadedTemplate, parse_template_bytes, validate_template
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from starfleet_airflow.lambda_worker.batch import process_batch
from starfleet_airflow.lambda_worker.records import LambdaEventError
from tests.airflow_fixtures import FACTORY_SHIPS
from tests.fixtures.factory_ships.recorders import AccountRecorderShip, RegionRecorderShip

ORG = sample_organisation()
INDEX = AccountIndex.from_dict(ORG)
IDS = sorted(ORG["accounts"])
NAMES = sorted({a["Name"] for a in ORG["accounts"].values()})
OUS = sorted({p["Name"] for a in ORG["accounts"].values() for p in a["Parents"]})
REGIONS = ["us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "ALL", "mars-1"]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)

# -- the template loader ------------------------------------------------------------------------------------

FRAGMENTS = [
    "TemplateName: t\n",
    "TemplateDescription: d\n",
    "K: ",
    "  K2: ",
    "- ",
    "&a ",
    "*a",
    "&b [*a, *a, *a]\n",
    "[",
    "]",
    "{",
    "}",
    ", ",
    ": ",
    "\n",
    "  ",
    "!!binary aGk=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!python/name:os.system",
    ".nan",
    "-.inf",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "123456789012: x\n",
    "? [a]\n",
    "'q'",
    '"\\u00e9"',
    "|\n  x\n",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    "#c\n",
    "null",
    "~",
    "<<: *a\n",
]
yaml_texts = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


@given(st.binary(max_size=300) | yaml_texts.map(str.encode))
def test_the_template_loader_returns_a_json_safe_mapping_or_a_message(data: bytes) -> None:
    raw, error = parse_template_bytes(data)
    if raw is None:
        assert isinstance(error, str) and error
    else:
        assert error is None and isinstance(raw, dict)
        assert json.loads(json.dumps(raw, allow_nan=False)) == raw, "what loads travels as JSON unchanged"


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=12))
def test_aliases_never_expand_past_the_limit(levels: int, fan_out: int) -> None:
    lines = ["L0: &a0 [" + ", ".join(["lol"] * fan_out) + "]"]
    lines += [f"L{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * fan_out) + "]" for n in range(1, levels + 1)]
    raw, error = parse_template_bytes(("\n".join(lines) + "\n").encode())
    if raw is not None:
        assert len(json.dumps(raw)) <= 262_144
    else:
        assert "expands to about" in str(error)


# -- validation and resolution ------------------------------------------------------------------------------

selectors = st.fixed_dictionaries(
    {},
    optional={
        "AllAccounts": st.booleans() | json_scalars,
        "ByIds": st.lists(st.sampled_from(IDS) | st.text(max_size=14), max_size=4) | json_scalars,
        "ByNames": st.lists(st.sampled_from(NAMES) | st.text(max_size=10), max_size=3),
        "ByOrgUnits": st.lists(st.sampled_from(OUS) | st.text(max_size=10), max_size=3) | json_values,
        "ByTags": st.lists(
            st.fixed_dictionaries({"Name": st.text(max_size=6), "Value": st.text(max_size=6)}), max_size=2
        ),
    },
)
templates = st.fixed_dictionaries(
    {"TemplateName": st.text(max_size=10) | json_scalars, "TemplateDescription": st.just("d")},
    optional={
        "IncludeAccounts": selectors | json_values,
        "ExcludeAccounts": selectors,
        "OperateInOrgRoot": st.booleans() | json_scalars,
        "IncludeRegions": st.lists(st.sampled_from(REGIONS), max_size=3) | json_scalars,
        "ExcludeRegions": st.lists(st.sampled_from(REGIONS), max_size=2),
        "StarbaseAssignedAccount": json_scalars,
    },
)


@given(templates, st.sampled_from([AccountRecorderShip, RegionRecorderShip]))
def test_validation_then_resolution_never_raises_and_stays_in_the_index(raw: dict[str, Any], ship: Any) -> None:
    payload, errors = validate_template(ship, raw)
    if payload is None:
        assert errors and all(isinstance(e, str) for e in errors)
        return
    targets = resolve_targets(payload, INDEX, ship.fan_out_strategy, ["us-east-1", "eu-west-1"])
    assert targets == sorted(set(targets))
    for account, region in targets:
        assert account in INDEX.accounts
        assert ship.fan_out_strategy is FanOutStrategy.ACCOUNT or region in INDEX.regions_of(account)


# -- the account index loader -------------------------------------------------------------------------------

account_entries = st.fixed_dictionaries(
    {},
    optional={
        "Name": st.text(max_size=8) | json_scalars,
        "Status": st.sampled_from(["ACTIVE", "SUSPENDED"]) | json_scalars,
        "Regions": st.lists(st.sampled_from(REGIONS), max_size=3) | json_values,
        "Parents": st.lists(st.fixed_dictionaries({"Id": st.text(max_size=5), "Name": st.text(max_size=5)}), max_size=2)
        | json_values,
        "Tags": st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2) | json_values,
        "Arn": st.text(max_size=30),
        "Id": json_scalars,
    },
)
indexes = st.fixed_dictionaries(
    {
        "accounts": st.dictionaries(st.sampled_from(IDS) | st.text(max_size=13), account_entries, max_size=5)
        | json_values
    },
    optional={"generated": json_scalars},
)


@given(
    indexes.map(lambda d: json.dumps(d).encode())
    | st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
)
def test_the_index_loader_raises_only_account_index_errors(data: bytes) -> None:
    try:
        index = AccountIndex.from_bytes(data, source="fuzz.json")
    except AccountIndexError as exc:
        assert str(exc).startswith("fuzz.json")
        return
    assert all(len(a) == 12 and a.isdigit() for a in index.accounts)


# -- the trigger's narrowing, through the plan -------------------------------------------------------------

params = st.fixed_dictionaries(
    {},
    optional={
        name: st.lists(st.sampled_from(IDS + NAMES + REGIONS) | st.text(max_size=12) | json_scalars, max_size=6)
        | json_values
        for name in ("templates", "accounts", "regions")
    },
)
WEB = LoadedTemplate(
    "RegionRecorderShip/web.yaml",
    {
        "TemplateName": "Web",
        "TemplateDescription": "d",
        "IncludeAccounts": {"ByOrgUnits": ["Web"]},
        "IncludeRegions": ["ALL"],
    },
    None,
    Location(None, "web.yaml"),
)


@given(params, st.sampled_from([DeliveryMode.SQS, DeliveryMode.INLINE]))
def test_a_trigger_only_narrows_or_is_refused(conf: dict[str, Any], mode: DeliveryMode) -> None:
    try:
        narrowing = Narrowing.from_params(conf)
        result = plan_run(
            RegionRecorderShip,
            index_data=ORG,
            index_source="org",
            templates=[WEB],
            template_prefix="RegionRecorderShip/",
            delivery_mode=mode,
            max_units=1024,
            narrowing=narrowing,
        )
    except (PlanRefused, PlanError) as exc:
        assert str(exc) and len(str(exc)) < 3_000
        return
    full = resolve_targets(result.view.payload(WEB.key), INDEX, FanOutStrategy.ACCOUNT_REGION)
    assert set(result.view.targets(WEB.key)) <= set(full), "a trigger never widens"


# -- the Lambda handler's batches ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("lambda")
    (root / "config").mkdir()
    (root / "config" / "s.yaml").write_text(
        "STARFLEET: {DeploymentRegion: us-east-1, TemplateLocation: t, AccountIndexLocation: i.json}\n"
        "AccountRecorderShip: {Enabled: true, TemplatePrefix: x/, InvocationQueueUrl: https://sqs.us-east-1.amazonaws.com/1/q}\n"
    )
    return load_ships(load_configuration(Path(root / "config")), FACTORY_SHIPS, use_entry_points=False).ships[
        "AccountRecorderShip"
    ]


bodies = (
    templates.map(json.dumps)
    | json_values.map(lambda v: json.dumps(v))
    | st.text(max_size=40)
    | st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)
)
records = st.fixed_dictionaries(
    {"messageId": st.text(min_size=1, max_size=6), "body": bodies | json_scalars},
    optional={
        "attributes": st.fixed_dictionaries({}, optional={"MessageGroupId": st.sampled_from(IDS[:3])}) | json_values,
        "messageAttributes": st.fixed_dictionaries(
            {},
            optional={
                "StarfleetShip": st.fixed_dictionaries(
                    {"stringValue": st.sampled_from(["AccountRecorderShip", "Other"]) | json_scalars}
                )
            },
        )
        | json_values,
    },
)
events = st.fixed_dictionaries({"Records": st.lists(records, max_size=6)}) | json_values


@given(events)
def test_the_lambda_handler_reports_failures_or_refuses_the_event(recorder: Any, event: Any) -> None:
    try:
        response = process_batch(recorder, event, None, commit=False)
    except LambdaEventError as exc:
        assert "expected an SQS event" in str(exc)
        return
    ids = {r["messageId"] for r in event["Records"]}
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} <= ids
