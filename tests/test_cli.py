"""The starfleet-airflow CLI on real files: validate, targets (the DESIGN.md contract), plan, render, run."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from starfleet_airflow.core.render import render_body
from starfleet_airflow.tools.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD_CONFIG = FIXTURES / "config_good"
GOOD_SHIPS = FIXTURES / "ships_good"
INDEX = FIXTURES / "index_small.json"
TEMPLATES = FIXTURES / "templates_good"
WORKSPACE = ["--config-dir", str(GOOD_CONFIG), "--ships-dir", str(GOOD_SHIPS), "--no-entry-points"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- validate ---------------------------------------------------------------------------------------------


def test_validate_good_fixture(capsys) -> None:
    code, out, err = cli(capsys, "validate", *WORKSPACE)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Configuration OK: {GOOD_CONFIG} (2 files)",
        "  AccountNoteShip: ACCOUNT, delivery INLINE, 2 templates",
        "  RegionNoteShip: ACCOUNT_REGION, delivery SQS, 1 template",
        "  SingleRunShip: SINGLE_INVOCATION, delivery INLINE, 1 template",
        "Disabled: IdleShip",
        "Not configured: UnconfiguredShip",
    ]


def test_validate_repository_sample(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample config/ + templates/ with the repository's own ships validate cleanly."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("STARFLEET_CONFIG_DIR", raising=False)
    monkeypatch.delenv("STARFLEET_SHIPS_DIR", raising=False)
    code, out, err = cli(capsys, "validate")
    assert code == 0, err
    assert out.startswith(f"Configuration OK: {REPO / 'config'}")


BROKEN_TEMPLATES = {
    "all_and_ids.yaml": """\
        TemplateName: AllAndIds
        TemplateDescription: AllAccounts together with ByIds
        IncludeAccounts: {AllAccounts: true, ByIds: ["222222222222"]}
        IncludeRegions: [us-east-1]
        Note: n
        """,
    "empty_include.yaml": """\
        TemplateName: EmptyInclude
        TemplateDescription: no selector at all
        IncludeAccounts: {}
        IncludeRegions: [us-east-1]
        Note: n
        """,
    "unknown_region.yaml": """\
        TemplateName: UnknownRegion
        TemplateDescription: a region that does not exist
        IncludeAccounts: {AllAccounts: true}
        IncludeRegions: [us-east-1, mars-north-1]
        Note: n
        """,
    "short_id.yaml": """\
        TemplateName: ShortId
        TemplateDescription: an 11-digit account id
        IncludeAccounts: {ByIds: ["12345678901"]}
        IncludeRegions: [us-east-1]
        Note: n
        """,
    "not_yaml.yaml": "TemplateName: [oops\n",
}


def broken_workspace(root: Path) -> tuple[Path, Path]:
    """The good fixture with every problem of issue 2's list added; returns (config dir, templates dir)."""
    config = root / "config"
    templates = root / "templates_good"
    shutil.copytree(GOOD_CONFIG, config)
    shutil.copytree(TEMPLATES, templates)
    shutil.copy(INDEX, root / "index_small.json")
    ships = (config / "ships.yml").read_text()
    ships = ships.replace("MaxNoteLength: 40", "MaxNoteLength: forty")  # a field of the wrong type
    ships = ships.replace("  TemplatePrefix: SingleRunShip/only.yaml\n", "")  # missing TemplatePrefix
    (config / "ships.yml").write_text(ships)
    (config / "zz_extra.yaml").write_text("Extra:\n  a: 1\n b: 2\n")  # invalid YAML
    for name, text in BROKEN_TEMPLATES.items():
        (templates / "RegionNoteShip" / name).write_text(textwrap.dedent(text))
    return config, templates


def test_validate_reports_every_problem_at_once(capsys, tmp_path: Path) -> None:
    config, templates = broken_workspace(tmp_path)
    code, out, err = cli(capsys, "validate", "--config-dir", str(config), "--ships-dir", str(GOOD_SHIPS))

    region = templates / "RegionNoteShip"
    expected = [
        f"{config / 'zz_extra.yaml'}: invalid YAML at line 3, column 2: expected <block end>, but found"
        " '<block mapping start>'",
        f"{config / 'ships.yml'}: AccountNoteShip.MaxNoteLength: Not a valid integer.",
        f"{config / 'ships.yml'}: SingleRunShip.TemplatePrefix: Missing data for required field.",
        f"{region / 'all_and_ids.yaml'}: IncludeAccounts.ByIds: cannot be combined with AllAccounts: true",
        f"{region / 'empty_include.yaml'}: IncludeAccounts: expected AllAccounts: true or at least one of ByNames,"
        " ByIds, ByOrgUnits, ByTags",
        f"{region / 'not_yaml.yaml'}: invalid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'",
        f"{region / 'short_id.yaml'}: IncludeAccounts.ByIds.0: expected a 12-digit AWS account id, got '12345678901'",
        f"{region / 'unknown_region.yaml'}: IncludeRegions: unknown region mars-north-1; expected AWS region"
        " names such as us-east-1",
    ]
    assert code == 1
    assert out == ""
    assert err.splitlines() == [*expected, f"{len(expected)} problems found"]


def test_validate_templates_from_s3(capsys, tmp_path: Path) -> None:
    """Starfleet's layout: templates in the TemplateBucket, read through a boto3 client (moto here)."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "starfleet.yaml").write_text(
        "STARFLEET: {DeploymentRegion: us-east-1, TemplateBucket: org-templates, AccountIndexLocation: i.json}\n"
    )
    shutil.copy(GOOD_CONFIG / "ships.yml", config / "ships.yml")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="org-templates")
        for path in TEMPLATES.rglob("*.yaml"):
            s3.put_object(Bucket="org-templates", Key=path.relative_to(TEMPLATES).as_posix(), Body=path.read_bytes())
        s3.put_object(Bucket="org-templates", Key="RegionNoteShip/bad.yaml", Body=b"TemplateName: x\n")

        code, out, err = cli(capsys, "validate", "--config-dir", str(config), "--ships-dir", str(GOOD_SHIPS))

    assert (code, out) == (1, "")
    assert err.splitlines()[:3] == [
        "s3://org-templates/RegionNoteShip/bad.yaml: TemplateDescription: Missing data for required field.",
        "s3://org-templates/RegionNoteShip/bad.yaml: IncludeAccounts: Missing data for required field.",
        "s3://org-templates/RegionNoteShip/bad.yaml: IncludeRegions: Missing data for required field.",
    ]
    assert "s3://org-templates/RegionNoteShip/regions.yaml" not in err


# -- targets (the contract) ----------------------------------------------------------------------------------


def test_targets_contract_account_region_and_account(capsys) -> None:
    template = str(TEMPLATES / "RegionNoteShip" / "regions.yaml")
    code, out, err = cli(
        capsys,
        "targets",
        "--index",
        str(INDEX),
        "--template",
        template,
        "--strategy",
        "ACCOUNT_REGION",
        "--format",
        "json",
    )
    assert (code, err) == (0, "")
    # tag environment=PROD matches Management (org root, left out), Prod-Web and Prod-Data (us-east-1 only);
    # Closed is SUSPENDED; eu-west-1 is not enabled for Prod-Data.
    assert json.loads(out) == [
        {"account_id": "222222222222", "region": "eu-west-1"},
        {"account_id": "222222222222", "region": "us-east-1"},
        {"account_id": "333333333333", "region": "us-east-1"},
    ]

    code, out, _ = cli(
        capsys, "targets", "--index", str(INDEX), "--template", template, "--strategy", "ACCOUNT_REGION",
        "--scope-to-regions", "eu-west-1,us-west-2", "--format", "json",
    )  # fmt: skip
    assert json.loads(out) == [{"account_id": "222222222222", "region": "eu-west-1"}]

    code, out, _ = cli(capsys, "targets", "--index", str(INDEX), "--template", template, "--strategy", "ACCOUNT")
    assert json.loads(out) == [
        {"account_id": "222222222222", "region": None},
        {"account_id": "333333333333", "region": None},
    ]


def test_targets_table_and_warnings(capsys) -> None:
    template = str(TEMPLATES / "AccountNoteShip" / "nested" / "everywhere.yaml")
    code, out, err = cli(
        capsys, "targets", "--index", str(INDEX), "--template", template, "--strategy", "ACCOUNT", "--format", "table"
    )
    assert code == 0
    assert out.splitlines() == [
        "ACCOUNT ID    ACCOUNT NAME  REGION",
        "111111111111  Management    -",
        "222222222222  Prod-Web      -",
        "333333333333  Prod-Data     -",
        "3 targets",
    ]
    assert err == ""


def test_targets_refuses_bad_inputs_with_clear_messages(capsys, tmp_path: Path) -> None:
    good_template = str(TEMPLATES / "AccountNoteShip" / "production.yaml")
    broken_index = tmp_path / "index.json"
    broken_index.write_text('{"accounts": {"222222222222": {"Name": 7}}}')
    bad_template = tmp_path / "t.yaml"
    bad_template.write_text(textwrap.dedent(BROKEN_TEMPLATES["short_id.yaml"]))

    cases = {
        ("--index", str(tmp_path / "missing.json"), "--template", good_template): [
            f"account index {tmp_path / 'missing.json'}: cannot read (No such file or directory)"
        ],
        ("--index", str(broken_index), "--template", good_template): [
            f"{broken_index}: accounts.222222222222.Name: expected a string"
        ],
        ("--index", str(INDEX), "--template", str(bad_template)): [
            f"{bad_template}: IncludeAccounts.ByIds.0: expected a 12-digit AWS account id, got '12345678901'"
        ],
        ("--index", str(INDEX), "--template", str(GOOD_CONFIG / "ships.yml")): [
            f"{GOOD_CONFIG / 'ships.yml'}: TemplateName: Missing data for required field.",
            f"{GOOD_CONFIG / 'ships.yml'}: TemplateDescription: Missing data for required field.",
            f"{GOOD_CONFIG / 'ships.yml'}: IncludeAccounts: Missing data for required field.",
        ],
        ("--index", str(INDEX), "--template", good_template, "--scope-to-regions", "us-east-1,pluto-1"): [
            "--scope-to-regions: unknown region pluto-1; expected AWS region names such as us-east-1"
        ],
    }
    for args, expected in cases.items():
        code, out, err = cli(capsys, "targets", *args, "--strategy", "ACCOUNT", "--format", "json")
        assert (code, out) == (1, ""), args
        assert err.splitlines() == expected, args


def test_targets_console_script_contract(tmp_path: Path) -> None:
    """The installed ``starfleet-airflow`` script, as outside checks call it."""
    script = Path(sys.executable).parent / "starfleet-airflow"
    template = TEMPLATES / "RegionNoteShip" / "regions.yaml"
    argv = [str(script), "targets", "--index", str(INDEX), "--template", str(template), "--format", "json"]
    done = subprocess.run([*argv, "--strategy", "ACCOUNT"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"account_id": "222222222222", "region": None},
        {"account_id": "333333333333", "region": None},
    ]
    (tmp_path / "bad.yaml").write_text("IncludeAccounts: {AllAccounts: true}\n")
    argv[argv.index(str(template))] = str(tmp_path / "bad.yaml")
    done = subprocess.run([*argv, "--strategy", "ACCOUNT"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"{tmp_path / 'bad.yaml'}: TemplateName: Missing data for required field." in done.stderr.splitlines()


# -- plan ----------------------------------------------------------------------------------------------------


def test_plan_json_lists_every_template_with_its_targets(capsys) -> None:
    code, out, err = cli(capsys, "plan", "AccountNoteShip", "--format", "json", *WORKSPACE)
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {
            "template": "AccountNoteShip/nested/everywhere.yaml",
            "template_name": "EverywhereNote",
            "targets": [  # AllAccounts minus Dev (by name, case-insensitive), org root included
                {"account_id": "111111111111", "region": None, "account_name": "Management"},
                {"account_id": "222222222222", "region": None, "account_name": "Prod-Web"},
                {"account_id": "333333333333", "region": None, "account_name": "Prod-Data"},
            ],
            "errors": [],
        },
        {
            "template": "AccountNoteShip/production.yaml",
            "template_name": "ProductionNote",
            "targets": [  # OU given by name in lower case
                {"account_id": "222222222222", "region": None, "account_name": "Prod-Web"},
                {"account_id": "333333333333", "region": None, "account_name": "Prod-Data"},
            ],
            "errors": [],
        },
    ]


def test_plan_table_keeps_going_past_a_bad_template(capsys, tmp_path: Path) -> None:
    config, templates = broken_workspace(tmp_path)
    code, out, err = cli(capsys, "plan", "RegionNoteShip", "--config-dir", str(config), "--ships-dir", str(GOOD_SHIPS))
    assert code == 1
    assert "RegionNoteShip (ACCOUNT_REGION): 6 templates, 3 targets" in out
    assert "RegionNoteShip/regions.yaml (RegionNote): 3 targets" in out
    assert "RegionNoteShip/short_id.yaml (ShortId): INVALID" in out
    assert f"warning: {config / 'zz_extra.yaml'}: invalid YAML at line 3" in err
    assert "222222222222  Prod-Web      eu-west-1" in out
    assert (
        f"{templates / 'RegionNoteShip' / 'unknown_region.yaml'}: IncludeRegions: unknown region mars-north-1;"
        " expected AWS region names such as us-east-1"
    ) in err.splitlines()


def test_plan_explains_why_a_ship_is_not_available(capsys) -> None:
    assert cli(capsys, "plan", "IdleShip", *WORKSPACE)[2] == (
        "IdleShip is disabled (Enabled: false in its configuration section)\n"
    )
    assert cli(capsys, "plan", "UnconfiguredShip", *WORKSPACE)[2] == "UnconfiguredShip has no configuration section\n"
    code, _, err = cli(capsys, "plan", "NoSuchShip", *WORKSPACE)
    assert code == 1
    assert err.startswith("no ship named 'NoSuchShip' was found (ships found: AccountNoteShip, IdleShip,")


# -- render ------------------------------------------------------------------------------------------------


def test_render_prints_the_starfleet_body(capsys) -> None:
    raw = {
        "TemplateName": "RegionNote",
        "TemplateDescription": "Two regions in the prod-tagged accounts",
        "IncludeAccounts": {"ByTags": [{"Name": "environment", "Value": "PROD"}]},
        "IncludeRegions": ["us-east-1", "eu-west-1"],
        "Note": "hello regions",
    }
    code, out, err = cli(
        capsys, "render", "RegionNoteShip", "--template", "regions", "--account", "prod-web", "--region", "eu-west-1",
        *WORKSPACE,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == render_body(raw, "222222222222", "eu-west-1") + "\n"
    assert list(json.loads(out))[-2:] == ["StarbaseAssignedAccount", "StarbaseAssignedRegion"]

    code, out, _ = cli(capsys, "render", "SingleRunShip", "--template", "OnlyOnce", *WORKSPACE)
    assert json.loads(out) == {
        "TemplateName": "OnlyOnce",
        "TemplateDescription": "The single template of the SINGLE_INVOCATION test ship",
    }


def test_render_refuses_targets_outside_the_template(capsys) -> None:
    base = ["render", "RegionNoteShip", "--template", "RegionNoteShip/regions.yaml", *WORKSPACE]
    code, out, err = cli(capsys, *base, "--account", "333333333333", "--region", "eu-west-1")
    assert (code, out) == (1, "")
    assert err == (
        f"333333333333/eu-west-1 is not a target of this template (per the account index {INDEX}); use --any-target"
        " to run it anyway\n"
    )
    code, out, _ = cli(capsys, *base, "--account", "333333333333", "--region", "eu-west-1", "--any-target")
    assert code == 0
    assert json.loads(out)["StarbaseAssignedRegion"] == "eu-west-1"

    assert cli(capsys, *base, "--account", "333333333333")[2] == (
        "RegionNoteShip is an ACCOUNT_REGION ship: --region is required\n"
    )
    assert cli(capsys, *base, "--account", "nobody", "--region", "us-east-1")[2] == (
        f"--account 'nobody': no account of that name in the account index {INDEX}; names look like 'Dev'"
        " (`starfleet-airflow plan SHIP` lists each target's id and name)\n"
    )
    assert "did you mean Prod-Web?" in cli(capsys, *base, "--account", "prod-wbe", "--region", "us-east-1")[2]
    assert cli(capsys, *base, "--account", "333333333333", "--region", "us-east-9")[2] == (
        "--region: unknown region us-east-9; expected AWS region names such as us-east-1\n"
    )
    assert cli(capsys, "render", "SingleRunShip", "--template", "only", "--account", "2" * 12, *WORKSPACE)[2] == (
        "SingleRunShip is a SINGLE_INVOCATION ship: it takes no --account or --region\n"
    )
    code, _, err = cli(capsys, "render", "AccountNoteShip", "--template", "nope", "--account", "2" * 12, *WORKSPACE)
    assert err.startswith("--template 'nope' names no template of AccountNoteShip under ")


def test_render_accepts_a_template_file_outside_the_store(capsys, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "TemplateName: Draft\nTemplateDescription: d\nIncludeAccounts: {ByIds: ['444444444444']}\nNote: x\n"
    )
    code, out, err = cli(capsys, "render", "AccountNoteShip", "--template", str(draft), "--account", "Dev", *WORKSPACE)
    assert (code, err) == (0, "")
    assert json.loads(out)["StarbaseAssignedAccount"] == "444444444444"


# -- run -----------------------------------------------------------------------------------------------------


def test_run_dry_run_then_commit_against_moto(capsys) -> None:
    base = ["run", "AccountNoteShip", "--template", "production", "--account", "Prod-Data", *WORKSPACE]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="account-notes")

        code, out, err = cli(capsys, *base)
        assert (code, err) == (0, "")
        assert json.loads(out) == {
            "template": "AccountNoteShip/production.yaml",
            "account_id": "333333333333",
            "region": None,
            "status": "succeeded",
            "error": None,
            "detail": {"account": "333333333333", "key": "333333333333/ProductionNote.txt", "written": False},
            "changes": None,  # this test ship does not report_changes
        }
        assert s3.list_objects_v2(Bucket="account-notes")["KeyCount"] == 0

        code, out, _ = cli(capsys, *base, "--commit")
        assert code == 0
        assert json.loads(out)["detail"]["written"] is True
        assert s3.get_object(Bucket="account-notes", Key="333333333333/ProductionNote.txt")["Body"].read() == (
            b"hello production"
        )


def test_run_serves_the_configuration_to_ported_starfleet_ships(capsys) -> None:
    from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

    before = STARFLEET_CONFIGURATION.current
    code, out, err = cli(capsys, "run", "SingleRunShip", "--template", "only", *WORKSPACE)
    assert (code, err) == (0, "")
    assert json.loads(out)["detail"] == {
        "template": "OnlyOnce",
        "commit": False,
        "logical_date": None,
        "invoked_by": "starfleet-airflow run",
        "configured_prefix": "SingleRunShip/only.yaml",
    }
    assert STARFLEET_CONFIGURATION.current is before  # nothing leaks out of main()


def test_run_reports_a_failing_ship_with_exit_1(capsys) -> None:
    code, out, err = cli(
        capsys, "run", "AccountNoteShip", "--template", "everywhere", "--account", "222222222222", *WORKSPACE
    )
    assert code == 1
    assert json.loads(out)["status"] == "failed"
    assert err.splitlines()[-1] == "failed: RuntimeError: asked to fail in 222222222222"


# -- how failures and output read ----------------------------------------------------------------------


def _no_aws_environment(**extra: str) -> dict[str, str]:
    """This test process's environment without any AWS credentials (conftest sets fake ones)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


def _console(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "starfleet-airflow"
    return subprocess.run([str(script), *argv], capture_output=True, text=True, env=env, check=False, timeout=120)


def test_run_without_credentials_ends_in_one_line_saying_what_to_do() -> None:
    base = ["run", "AccountNoteShip", "--template", "production", "--account", "Prod-Data", "--commit", *WORKSPACE]
    done = _console(*base, env=_no_aws_environment(AWS_DEFAULT_REGION="us-east-1"))
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"] == "NoCredentialsError: Unable to locate credentials"
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "failed: NoCredentialsError: Unable to locate credentials -- no AWS credentials here; the embedded default's"
        " accounts live in the demo's AWS stand-in: start it with `scripts/demo.sh --serve --skip-runs` in another"
        " terminal, then `source .starfleet/demo-env.sh` here, or configure credentials (e.g. AWS_PROFILE)"
    ]
    debug = _console("--debug", *base, env=_no_aws_environment(AWS_DEFAULT_REGION="us-east-1"))
    assert "Traceback" in debug.stderr and debug.returncode == 1  # kept for bug reports


def test_run_against_a_stand_in_that_is_not_running_says_so() -> None:
    from starfleet_airflow.devtools.stand_in.ports import free_port

    env = _no_aws_environment(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        AWS_MAX_ATTEMPTS="1",
    )
    done = _console(
        "run", "AccountNoteShip", "--template", "production", "--account", "Prod-Data", "--commit", *WORKSPACE, env=env
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("failed: EndpointConnectionError: Could not connect to the endpoint URL")
    assert line.endswith("`source .starfleet/demo-env.sh` here (it must be running)")


def test_an_unreadable_s3_location_names_it_and_what_to_do(tmp_path: Path) -> None:
    template = TEMPLATES / "RegionNoteShip" / "regions.yaml"
    done = _console(
        "targets",
        "--index",
        "s3://no-bucket/index.json",
        "--template",
        str(template),
        "--strategy",
        "ACCOUNT",
        env=_no_aws_environment(AWS_DEFAULT_REGION="us-east-1"),
    )
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("account index s3://no-bucket/index.json: cannot read (Unable to locate credentials)")
    assert "scripts/demo.sh --serve --skip-runs" in line


def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """``starfleet-airflow ... --format json | head``: exit 141 like a shell tool, no BrokenPipeError traceback."""
    from starfleet_airflow.devtools.synthetic_org import build_index

    index = tmp_path / "index.json"
    index.write_text(json.dumps(build_index(500, seed=3)), encoding="utf-8")
    template = tmp_path / "all.yaml"
    template.write_text(
        "TemplateName: All\nTemplateDescription: all\nIncludeAccounts: {AllAccounts: true}\nIncludeRegions: [ALL]\n"
    )
    script = Path(sys.executable).parent / "starfleet-airflow"
    argv = [str(script), "targets", "--index", str(index), "--template", str(template), "--strategy", "ACCOUNT_REGION"]
    reader = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    head = reader.stdout.read(100)  # far less than the output (MBs): the rest cannot fit the pipe's buffer
    reader.stdout.close()
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141
    assert head.startswith(b'[{"account_id": ')
    assert errors == ""


def test_every_option_of_every_command_says_what_it_does() -> None:
    from starfleet_airflow.tools.cli.main import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    undocumented = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if not action.help
    ]
    assert undocumented == []
    plan_help = commands.choices["plan"].format_help()
    assert "json: the same as JSON for jq and scripts" in " ".join(plan_help.split())
