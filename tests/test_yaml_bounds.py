"""What a YAML input may expand to is bounded at load time (alias bombs, deep nesting, huge files).

Templates and configuration files go through one loader (``core.yaml_loader``): a template that would
expand beyond SQS's 256 KiB message limit, or nest deeper than the limit, carries a clear error naming
the template, and every other template still runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from starfleet_airflow.aws.locations import Location
from starfleet_airflow.core import yaml_loader
from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.templates import TemplateStore, parse_template_bytes
from starfleet_airflow.tools.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def alias_bomb(levels: int, fan_out: int = 9, indent: str = "") -> str:
    """The issue's template: each level an anchored list of ``fan_out`` aliases of the level below."""
    lines = ["TemplateName: Bomb", "TemplateDescription: laughs", "L0: &a0 [" + ", ".join(["lol"] * fan_out) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"L{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan_out) + "]")
    return "".join(f"{indent}{line}\n" for line in lines)


def test_the_issue_alias_bomb_is_refused_at_load_with_what_it_would_expand_to() -> None:
    bomb = alias_bomb(8)
    assert len(bomb) < 600, "a few hundred bytes of YAML"
    raw, error = parse_template_bytes(bomb.encode())
    assert raw is None
    assert error is not None
    assert "expands to about" in error and "bytes once its YAML aliases are expanded" in error
    assert f"expected at most {yaml_loader.TEMPLATE_LIMITS.max_expanded_bytes:,} bytes" in error


def test_a_template_within_the_limit_keeps_its_aliases() -> None:
    raw, error = parse_template_bytes(alias_bomb(2).encode())
    assert error is None
    assert raw is not None and raw["L2"][0] == raw["L1"] and raw["L1"][0] == ["lol"] * 9


def test_recursive_aliases_are_refused() -> None:
    raw, error = parse_template_bytes(b"TemplateName: R\nTemplateDescription: d\nLoop: &loop [*loop]\n")
    assert raw is None and error is not None and "refers to itself" in error


def test_deep_nesting_is_refused_before_python_runs_out_of_stack() -> None:
    raw, error = parse_template_bytes(b"TemplateName: D\nTemplateDescription: d\nDeep: " + b"[" * 5000)
    assert raw is None and error is not None
    assert f"nested deeper than {yaml_loader.TEMPLATE_LIMITS.max_depth} levels" in error and "line 3" in error


def test_a_huge_file_is_refused_without_parsing_it() -> None:
    data = b"TemplateName: Big\nTemplateDescription: d\nBlob: " + b"x" * (2 * 1024 * 1024)
    raw, error = parse_template_bytes(data)
    assert raw is None
    assert (
        error == f"the file has {len(data):,} bytes; expected at most {yaml_loader.TEMPLATE_LIMITS.max_bytes:,} bytes"
    )


def test_a_bomb_among_templates_fails_alone_and_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "Ship").mkdir()
    (tmp_path / "Ship" / "bomb.yaml").write_text(alias_bomb(8))
    (tmp_path / "Ship" / "good.yaml").write_text("TemplateName: Good\nTemplateDescription: fine\n")
    loaded = {t.key: t for t in TemplateStore(Location(None, str(tmp_path))).load_all("Ship/")}
    assert loaded["Ship/good.yaml"].ok
    assert not loaded["Ship/bomb.yaml"].ok and "expands to about" in str(loaded["Ship/bomb.yaml"].error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ship:\n" + alias_bomb(8, indent="  "), "expands to about"),
        ("Ship: " + "[" * 5000, "nested deeper than"),
    ],
    ids=["alias-bomb", "deep"],
)
def test_configuration_files_are_bounded_too(tmp_path: Path, text: str, expected: str) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "a_starfleet.yaml").write_text(
        "STARFLEET: {DeploymentRegion: us-east-1, TemplateLocation: t, AccountIndexLocation: i.json}\n"
    )
    (folder / "ship.yaml").write_text(text)
    configuration = load_configuration(folder)
    [problem] = configuration.errors
    assert problem.file == folder / "ship.yaml" and expected in problem.message
    assert configuration.starfleet["deployment_region"] == "us-east-1", "the other files still load"


def test_limits_are_per_kind() -> None:
    """About 500 KB expanded: too much for a template (an SQS message), fine for a configuration file."""
    _, as_template = yaml_loader.safe_load_yaml(alias_bomb(4), yaml_loader.TEMPLATE_LIMITS)
    document, as_configuration = yaml_loader.safe_load_yaml(alias_bomb(4), yaml_loader.CONFIG_LIMITS)
    assert as_template is not None and "expands to about" in as_template
    assert as_configuration is None and len(document["L4"]) == 9
    assert yaml_loader.TEMPLATE_LIMITS.max_expanded_bytes == 262_144, "SQS's message limit"


def copied_workspace(root: Path, templates: dict[str, str]) -> list[str]:
    """The good CLI fixture copied under ``root`` with extra AccountNoteShip templates; returns CLI options."""
    config, store = root / "config", root / "templates_good"
    shutil.copytree(FIXTURES / "config_good", config)
    shutil.copytree(FIXTURES / "templates_good", store)
    shutil.copy(FIXTURES / "index_small.json", root / "index_small.json")
    for name, text in templates.items():
        (store / "AccountNoteShip" / name).write_text(text)
    return ["--config-dir", str(config), "--ships-dir", str(FIXTURES / "ships_good"), "--no-entry-points"]


def test_validate_and_render_refuse_the_bomb_naming_its_file(tmp_path: Path, capsys) -> None:
    bomb_template = alias_bomb(8) + "IncludeAccounts: {AllAccounts: true}\nNote: otherwise valid\n"
    options = copied_workspace(tmp_path, {"bomb.yaml": bomb_template})
    bomb = tmp_path / "templates_good" / "AccountNoteShip" / "bomb.yaml"

    assert main(["validate", *options]) == 1
    assert f"{bomb}: expands to about" in capsys.readouterr().err

    assert main(["render", "AccountNoteShip", "--template", "bomb", "--account", "111111111111", *options]) == 1
    assert f"{bomb}: expands to about" in capsys.readouterr().err


@pytest.mark.skipif(yaml_loader.CParser is None, reason="PyYAML built without libyaml")
def test_the_fast_loader_parses_with_libyaml_under_the_same_bounds() -> None:
    """libyaml's parser feeds the bounded composer: same documents, same refusals, same messages."""
    import yaml

    fast = yaml_loader._loader_for(yaml_loader.TEMPLATE_LIMITS, fast=True)
    assert issubclass(fast, yaml_loader.CParser)
    text = (FIXTURES.parent.parent / "config" / "starfleet.yaml").read_text() + alias_bomb(2)
    assert yaml.load(text, Loader=fast) == yaml.safe_load(text)
    for bomb in (alias_bomb(8), "Deep: " + "[" * 5000):
        with pytest.raises(yaml_loader.YamlLimitError):
            yaml.load(bomb, Loader=fast)
    broken = "a: [1, 2\nb: 3\n"
    with pytest.raises(yaml.YAMLError) as pure:  # PyYAML's own pure-Python wording
        yaml.safe_load(broken)
    mark, problem = pure.value.problem_mark, pure.value.problem
    _, error = yaml_loader.safe_load_yaml(broken, yaml_loader.TEMPLATE_LIMITS)
    assert error == f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
