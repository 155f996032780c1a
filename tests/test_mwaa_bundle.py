"""The MWAA bundle: its layout, its requirements, and that the DAG file parses from inside it.

The bundle is built from this repository. Parsing happens in a subprocess whose only copy of our code
is the bundle's (the bundle's DAGs folder on PYTHONPATH, a neutral working directory, no STARFLEET_*
variables), which is how MWAA's DAG processor sees it; the report says where each package was imported
from. Parsing under MWAA's own Airflow (3.0.6) is the CI job scripts/check_mwaa_bundle.sh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from starfleet_airflow.tools.mwaa import BundleError, build_bundle, parse_dags_folder
from starfleet_airflow.tools.mwaa import bundle as mwaa
from starfleet_airflow.tools.mwaa.main import main as mwaa_main

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_VERSION = mwaa.DEFAULT_AIRFLOW_VERSION
CI_CONSTRAINTS = ROOT / "mwaa" / f"ci-constraints-{AIRFLOW_VERSION}-py3.12.txt"
MWAA_CONSTRAINT_URL = (
    f"https://raw.githubusercontent.com/apache/airflow/constraints-{AIRFLOW_VERSION}/constraints-3.12.txt"
)


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _pins(path: Path) -> dict[str, str]:
    return {_name(line): line.split("==", 1)[1] for line in _requirement_lines(path) if "==" in line}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _source_files(folder: Path) -> set[str]:
    """What the builder must ship from a source folder: everything but caches, tests and devtools."""
    return {
        name
        for name in _files(folder)
        if not any(part in mwaa.EXCLUDED_NAMES or part.endswith(mwaa.EXCLUDED_SUFFIXES) for part in Path(name).parts)
    }


def _parse_in_subprocess(dags_dir: Path, cwd: Path, extra_env: dict[str, str] | None = None) -> dict:
    """Parse ``dags_dir`` in a fresh interpreter that sees only the bundle's code, as MWAA does.

    ``extra_env`` (a repository parse) replaces that isolation and the check of where code came from.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STARFLEET_", "PYTHON"))}
    env["PYTHONPATH"] = str(dags_dir)
    env["AIRFLOW_HOME"] = str(cwd / "airflow_home")
    env.update(extra_env or {})
    command = [sys.executable, "-m", "starfleet_airflow.tools.mwaa", "parse", str(dags_dir), "--json"]
    result = subprocess.run(
        command if extra_env else [*command, "--require-bundle-code"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"parse failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> mwaa.Bundle:
    return build_bundle(ROOT, tmp_path_factory.mktemp("mwaa") / "bundle")


@pytest.fixture(scope="module")
def bundle_parse(bundle, tmp_path_factory) -> dict:
    return _parse_in_subprocess(bundle.dags_dir, tmp_path_factory.mktemp("neutral-cwd"))


# --------------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------------


def test_bundle_has_the_parts_mwaa_reads(bundle):
    assert bundle.dags_dir == bundle.root / "dags"
    # The repository's layout, inside MWAA's DAGs folder: the DAG file's own defaults hold.
    assert _files(bundle.dags_dir / "dags") == _source_files(ROOT / "dags")
    assert (bundle.dags_dir / "dags" / mwaa.DAG_FILE).read_bytes() == (ROOT / "dags" / mwaa.DAG_FILE).read_bytes()
    assert bundle.requirements == bundle.root / "requirements.txt"
    assert bundle.startup_script == bundle.root / "startup.sh"
    assert bundle.startup_script.stat().st_mode & stat.S_IXUSR
    assert sorted(p.name for p in bundle.root.iterdir()) == sorted(
        ["dags", "requirements.txt", "startup.sh", mwaa.BUNDLE_INFO]
    )


@pytest.mark.parametrize("folder", ["starfleet_airflow", "ships", "config", "templates"])
def test_code_and_data_folders_are_shipped_whole(bundle, folder):
    assert _files(bundle.dags_dir / folder) == _source_files(ROOT / folder)


def test_nothing_of_the_development_checkout_is_shipped(tmp_path):
    project = tmp_path / "project"
    for name in ("dags", "mwaa", "starfleet_airflow", "ships", "config", "templates"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    junk = [
        "starfleet_airflow/__pycache__/x.cpython-311.pyc",
        "ships/iam_role/__pycache__/ship.cpython-311.pyc",
        "ships/stray.pyc",
        "ships/.venv-local/lib/site.py",
        "ships/iam_role/tests/test_x.py",
        "starfleet_airflow.egg-info/PKG-INFO",
        "ships/.pytest_cache/v/cache",
    ]
    for name in junk:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("junk")
    built = build_bundle(project, tmp_path / "bundle")
    shipped = _files(built.root)
    assert not [f for f in shipped if re.search(r"__pycache__|\.pyc$|\.venv|/tests/|egg-info|\.pytest_cache", f)]
    assert not (built.dags_dir / "starfleet_airflow" / "devtools").exists()


def test_airflowignore_keeps_the_processor_to_the_dag_file(bundle):
    lines = (bundle.dags_dir / ".airflowignore").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        "starfleet_airflow/",
        "ships/",
        "config/",
        "templates/",
    ]


@pytest.mark.parametrize("syntax", ["glob", "regexp"])
def test_airflowignore_leaves_only_the_dag_files_in_either_syntax(bundle, syntax):
    try:  # where Airflow 3.3 moved it; airflow.utils.file still re-exports it with a deprecation warning
        from airflow._shared.module_loading import find_path_from_directory
    except ImportError:
        from airflow.utils.file import find_path_from_directory

    found = find_path_from_directory(str(bundle.dags_dir), ".airflowignore", syntax)
    python_files = {str(Path(path).relative_to(bundle.dags_dir)) for path in found if path.endswith(".py")}
    assert python_files == {f"dags/{name}" for name in _source_files(ROOT / "dags") if name.endswith(".py")}


def test_bundle_info_describes_the_build(bundle):
    info = json.loads(bundle.info_file.read_text())
    assert info["airflow_version"] == AIRFLOW_VERSION
    assert info["python_version"] == "3.12"  # MWAA runs 3.0.6 and 3.3.1 on Python 3.12
    assert info["dag_file"] == f"dags/dags/{mwaa.DAG_FILE}"
    assert set(info["files"]) == _files(bundle.root) - {mwaa.BUNDLE_INFO}
    assert info["warnings"] == list(bundle.warnings)


# --------------------------------------------------------------------------------------------------
# Requirements
# --------------------------------------------------------------------------------------------------


def test_requirements_start_with_mwaas_constraints_line(bundle):
    lines = _requirement_lines(bundle.requirements)
    assert lines[0] == f'--constraint "{MWAA_CONSTRAINT_URL}"'
    assert not [line for line in lines[1:] if line.startswith("-")]
    assert "apache-airflow" not in {_name(line) for line in lines[1:]}


def test_requirements_cover_every_runtime_dependency_of_the_package(bundle):
    from importlib.metadata import requires

    declared = [dep for dep in requires("starfleet-airflow") or [] if "extra ==" not in dep]
    assert declared, "starfleet-airflow's installed metadata lists no dependency"
    listed = {_name(line) for line in _requirement_lines(bundle.requirements)[1:]}
    missing = {_name(dep) for dep in declared} - {"apache-airflow"} - listed
    assert not missing, f"pyproject dependencies missing from mwaa/requirements-{AIRFLOW_VERSION}.txt: {missing}"


def test_providers_are_pinned_and_everything_is_pinned_by_the_ci_constraints(bundle):
    lines = _requirement_lines(bundle.requirements)[1:]
    providers = [line for line in lines if _name(line).startswith("apache-airflow-providers-")]
    assert providers and all(re.fullmatch(r"[a-z0-9-]+==\d+(\.\d+)+", line) for line in providers), providers
    # Other libraries are pinned by the constraints file only (a second pin could contradict it).
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", line) for line in lines if line not in providers)
    ci_pins = _pins(CI_CONSTRAINTS)
    assert ci_pins["apache-airflow"] == AIRFLOW_VERSION
    for line in lines:
        name = _name(line)
        assert name in ci_pins, f"{name} is not pinned in {CI_CONSTRAINTS.name}"
        if "==" in line:
            assert ci_pins[name] == line.split("==", 1)[1], f"{name}: requirements and CI constraints disagree"


def test_extra_requirements_are_appended(tmp_path):
    built = build_bundle(ROOT, tmp_path / "bundle", extra_requirements=["acme-starfleet-ships==1.2.3", "  "])
    assert _requirement_lines(built.requirements)[-1] == "acme-starfleet-ships==1.2.3"


# --------------------------------------------------------------------------------------------------
# Parsing from the bundle (current Airflow)
# --------------------------------------------------------------------------------------------------


def test_dag_file_parses_from_the_bundle_with_the_bundles_own_code(bundle, bundle_parse):
    assert bundle_parse["import_errors"] == {}
    assert bundle_parse["dag_ids"], "the bundle's DAG file produced no DAG"
    for name, path in bundle_parse["modules"].items():
        if path is not None:
            assert Path(path).is_relative_to(bundle.dags_dir.resolve()), f"{name} imported from {path}"
    assert bundle_parse["modules"]["starfleet_airflow"] is not None
    parsed_files = {str(Path(stat["file"])) for stat in bundle_parse["files"]}
    expected = {f"dags/{name}" for name in _source_files(ROOT / "dags") if name.endswith(".py")}
    assert parsed_files == expected, ".airflowignore must keep Airflow out of the code folders"


def test_bundle_yields_the_same_dags_as_the_repository(bundle_parse, tmp_path):
    from_repo = _parse_in_subprocess(
        ROOT / "dags", tmp_path, extra_env={"STARFLEET_CONFIG_DIR": str(ROOT / "config"), "PYTHONPATH": str(ROOT)}
    )
    assert bundle_parse["dag_ids"] == from_repo["dag_ids"]


def test_parse_reports_import_errors_and_fails(tmp_path, capsys):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "broken_dag.py").write_text("from airflow.sdk import dag\nimport module_that_does_not_exist\n")
    report = parse_dags_folder(dags)
    assert not report.ok
    assert "module_that_does_not_exist" in next(iter(report.import_errors.values()))
    assert mwaa_main(["parse", str(dags)]) == 1
    assert "IMPORT ERROR" in capsys.readouterr().err


def test_parse_fails_on_placeholder_dags_of_ships_the_factory_could_not_build(tmp_path, capsys):
    # The factory never raises: a ship whose DAG cannot be built (say, an Airflow API missing from the
    # version under test) becomes a placeholder DAG with the factory's broken tag. That must fail too.
    from starfleet_airflow.airflow.broken_dag import build_broken_dag
    from starfleet_airflow.airflow.naming import BROKEN_TAG

    assert build_broken_dag("starfleet_x__broken", "X", ["boom"]).tags >= {BROKEN_TAG}
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "placeholder_dag.py").write_text(
        "from airflow.sdk import DAG\n"
        f"dag = DAG('starfleet_x__broken', schedule=None, tags=['starfleet', {BROKEN_TAG!r}], description='why')\n"
        "healthy = DAG('starfleet_y', schedule=None, tags=['starfleet'])\n"
    )
    report = parse_dags_folder(dags)
    assert report.ok and report.tagged([BROKEN_TAG]) == ["starfleet_x__broken"]
    assert mwaa_main(["parse", str(dags)]) == 1
    assert "BROKEN DAG starfleet_x__broken: why" in capsys.readouterr().err


def test_parse_fails_on_an_empty_folder_unless_allowed(tmp_path):
    assert mwaa_main(["parse", str(tmp_path)]) == 1
    assert mwaa_main(["parse", str(tmp_path), "--allow-empty"]) == 0


# --------------------------------------------------------------------------------------------------
# Configuration checks and refusals
# --------------------------------------------------------------------------------------------------


def test_sample_configuration_warns_about_what_cannot_work_on_mwaa(bundle):
    joined = "\n".join(bundle.warnings)
    assert "STARFLEET.AccountIndexLocation is the local path dags/.starfleet/" in joined
    assert "STARFLEET.SnapshotLocation is the local path dags/.starfleet/" in joined
    loopback = [w for w in bundle.warnings if "a loopback address reaches nothing on MWAA" in w]
    assert loopback and all(w.split(" is ")[0].endswith("InvocationQueueUrl") for w in loopback)


def _production_config(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "starfleet.yaml").write_text(
        "STARFLEET:\n"
        "  DeploymentRegion: us-east-1\n"
        "  TemplateLocation: s3://acme-starfleet-templates/\n"
        "  AccountIndexLocation: s3://acme-starfleet-index/accountIndex.json\n"
        "  SnapshotLocation: s3://acme-starfleet-templates/snapshots/\n"
    )
    return folder


def test_production_configuration_builds_without_warnings_and_strict_passes(tmp_path, capsys):
    config = _production_config(tmp_path / "prod-config")
    built = build_bundle(ROOT, tmp_path / "bundle", config_dir=config, include_templates=False)
    assert built.warnings == ()
    assert _files(built.dags_dir / "config") == {"starfleet.yaml"}
    assert not (built.dags_dir / "templates").exists()
    args = ["build", "--project-dir", str(ROOT), "--output", str(tmp_path / "b2"), "--config-dir", str(config)]
    assert mwaa_main([*args, "--no-templates", "--strict"]) == 0
    assert mwaa_main(["build", "--project-dir", str(ROOT), "--output", str(tmp_path / "b3"), "--strict"]) == 1
    assert "warning: STARFLEET.AccountIndexLocation" in capsys.readouterr().err


def test_broken_configuration_fails_the_build_naming_file_and_key(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "starfleet.yaml").write_text("STARFLEET:\n  TemplateLocation: s3://bucket/\n")
    with pytest.raises(BundleError, match=r"starfleet\.yaml: STARFLEET\.DeploymentRegion"):
        build_bundle(ROOT, tmp_path / "bundle", config_dir=config)


def test_rebuild_replaces_an_earlier_bundle_but_never_another_folder(tmp_path):
    output = tmp_path / "bundle"
    build_bundle(ROOT, output)
    (output / "dags" / "stale.py").write_text("old")
    build_bundle(ROOT, output)
    assert not (output / "dags" / "stale.py").exists()

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not an earlier bundle"):
        build_bundle(ROOT, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    with pytest.raises(BundleError, match="must not contain the project"):
        build_bundle(ROOT, ROOT.parent)


def test_unknown_airflow_version_names_the_ones_offered(tmp_path):
    with pytest.raises(BundleError, match=rf"Airflow 9\.9\.9; expected one of \[.*'requirements-{AIRFLOW_VERSION}"):
        build_bundle(ROOT, tmp_path / "bundle", airflow_version="9.9.9")


def test_requirements_template_must_start_with_the_matching_constraints_line(tmp_path):
    project = tmp_path / "project"
    (project / "mwaa").mkdir(parents=True)
    template = project / "mwaa" / "requirements-3.0.6.txt"
    template.write_text("apache-airflow-providers-amazon==9.12.0\n")
    with pytest.raises(BundleError, match="first requirement line must be --constraint"):
        mwaa.read_requirements_template(project, "3.0.6")
    url = MWAA_CONSTRAINT_URL.replace(AIRFLOW_VERSION, "3.0.6")
    template.write_text(f'--constraint "{url.replace("3.0.6", "3.0.4")}"\n')
    with pytest.raises(BundleError, match=r"for Airflow 3\.0\.4, expected 3\.0\.6"):
        mwaa.read_requirements_template(project, "3.0.6")
    template.write_text(f'--constraint "{url}"\napache-airflow==3.0.6\n')
    with pytest.raises(BundleError, match="do not list apache-airflow"):
        mwaa.read_requirements_template(project, "3.0.6")


def test_missing_dag_file_is_reported(tmp_path):
    with pytest.raises(BundleError, match=r"dags/starfleet_dags\.py: no DAG file"):
        build_bundle(tmp_path, tmp_path / "bundle")
