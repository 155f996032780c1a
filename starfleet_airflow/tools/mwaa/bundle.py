"""Build the Amazon MWAA deployment bundle: code, configuration and templates laid out as MWAA runs them.

See the package docstring (``starfleet_airflow.tools.mwaa``) for the bundle's shape and why.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DAG_FILE = "starfleet_dags.py"
DAG_SUBDIR = "dags"  # the DAG files' folder inside the bundle's DAGs folder, as in the repository
REQUIREMENTS_TEMPLATE = "requirements-{airflow_version}.txt"
DEFAULT_AIRFLOW_VERSION = "3.3.1"
BUNDLE_INFO = "bundle-info.json"
CODE_PACKAGES = ("starfleet_airflow", "ships")
DATA_FOLDERS = ("config", "templates")
# Never deployed: caches, virtualenvs, build metadata, tests, and the development tools (they need moto).
EXCLUDED_NAMES = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        ".git",
        ".DS_Store",
        "tests",
        "devtools",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
# .airflowignore patterns that mean the same in both of Airflow's syntaxes (glob, the default since 3.0,
# and regexp): a folder name followed by a slash.
AIRFLOWIGNORE_LINES = tuple(f"{name}/" for name in (*CODE_PACKAGES, *DATA_FOLDERS))
CONSTRAINT_LINE = re.compile(
    r'^--constraint\s+"?https://raw\.githubusercontent\.com/apache/airflow/'
    r'constraints-(?P<airflow>[0-9.]+)/constraints-(?P<python>[0-9]+\.[0-9]+)\.txt"?\s*$'
)
LOOPBACK_URL = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")


class BundleError(Exception):
    """The bundle cannot be built; the message says which file or setting and what was expected."""


@dataclass(frozen=True)
class Bundle:
    """A built bundle: where its parts are and what the build noticed."""

    root: Path
    dags_dir: Path
    requirements: Path
    startup_script: Path | None
    airflow_version: str
    python_version: str
    warnings: tuple[str, ...] = ()

    @property
    def info_file(self) -> Path:
        return self.root / BUNDLE_INFO


def _ignored(name: str) -> bool:
    return name in EXCLUDED_NAMES or name.startswith(".venv") or name.endswith(EXCLUDED_SUFFIXES)


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=lambda _dir, names: [n for n in names if _ignored(n)])


def read_requirements_template(project_dir: Path, airflow_version: str) -> tuple[str, str]:
    """The MWAA requirements for ``airflow_version`` and the Python version its constraints line names.

    The constraints line must come first and name the same Airflow version: MWAA applies it to every
    line, and a requirements file built for another Airflow version would install the wrong providers.
    """
    mwaa_dir = project_dir / "mwaa"
    path = mwaa_dir / REQUIREMENTS_TEMPLATE.format(airflow_version=airflow_version)
    if not path.is_file():
        offered = sorted(p.name for p in mwaa_dir.glob(REQUIREMENTS_TEMPLATE.format(airflow_version="*")))
        raise BundleError(
            f"{path}: no MWAA requirements for Airflow {airflow_version}; "
            f"expected one of {offered or 'mwaa/requirements-<version>.txt'}"
        )
    text = path.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    match = CONSTRAINT_LINE.match(lines[0]) if lines else None
    if match is None:
        raise BundleError(
            f"{path}: the first requirement line must be --constraint "
            f'"https://raw.githubusercontent.com/apache/airflow/constraints-{airflow_version}/constraints-<python>.txt"'
        )
    if match["airflow"] != airflow_version:
        raise BundleError(f"{path}: the constraints line is for Airflow {match['airflow']}, expected {airflow_version}")
    for line in lines[1:]:
        if re.match(r"^apache-airflow\s*([=<>!~;]|$)", line):
            raise BundleError(f"{path}: {line!r}: MWAA provides Airflow itself; do not list apache-airflow")
    return text, match["python"]


def check_configuration(config_dir: Path, dags_dir: Path) -> list[str]:
    """Validate the bundled configuration; return warnings about settings that cannot work on MWAA.

    Raises ``BundleError`` for a configuration that does not load (the DAG file would fail on MWAA).
    Local locations are warnings: MWAA's DAGs folder is a copy of the bucket on each container, so a
    file written there (the account index the generator writes, run snapshots) is neither shared between
    workers nor kept; and loopback URLs (the sample's AWS stand-in) reach nothing on MWAA.
    """
    from starfleet_airflow.core.config import load_configuration

    configuration = load_configuration(config_dir)
    if not configuration.ok:
        problems = "\n".join(f"  {problem}" for problem in configuration.errors)
        raise BundleError(f"the configuration in {config_dir} does not load:\n{problems}")
    warnings = []
    writable = {
        "STARFLEET.AccountIndexLocation": configuration.account_index_location,
        "STARFLEET.SnapshotLocation": configuration.snapshot_location,
    }
    for key, location in writable.items():
        if location is not None and not location.is_s3:
            warnings.append(
                f"{key} is the local path {_shown(location.key, dags_dir)}: on MWAA use s3://bucket/key "
                "(files written in the DAGs folder are not shared between workers nor kept)"
            )
    template_location = configuration.template_location
    if template_location is not None and not template_location.is_s3:
        folder = Path(template_location.key).resolve()
        if not folder.is_relative_to(dags_dir.resolve()) or not folder.exists():
            warnings.append(
                f"STARFLEET.TemplateLocation is the local path {_shown(template_location.key, dags_dir)}, which is "
                "not in the bundle: use s3://bucket/prefix or keep the templates in templates/"
            )
    for file_key, value in _strings(configuration.raw):
        if LOOPBACK_URL.match(value):
            warnings.append(f"{file_key} is {value}: a loopback address reaches nothing on MWAA")
    return warnings


def _shown(path: str, dags_dir: Path) -> str:
    """A local path as the bundle sees it (``dags/...``) when it is inside the DAGs folder."""
    resolved, dags = Path(path).resolve(), dags_dir.resolve()
    return str(Path(dags.name) / resolved.relative_to(dags)) if resolved.is_relative_to(dags) else path


def _strings(data: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """Every string value of a nested configuration with its dotted key."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from _strings(value, f"{key}.{name}" if key else str(name))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, f"{key}[{index}]")
    elif isinstance(data, str):
        yield key, data


def _source_commit(project_dir: Path) -> str | None:
    """The git commit the bundle was built from (with ``-dirty`` for uncommitted changes), if known."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(project_dir), "status", "--porcelain", "--", *CODE_PACKAGES, "dags", *DATA_FOLDERS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def _prepare_output(output_dir: Path, project_dir: Path) -> None:
    """Empty ``output_dir`` for a new build, refusing anything that is not an earlier bundle."""
    output = output_dir.resolve()
    if output == project_dir.resolve() or project_dir.resolve().is_relative_to(output):
        raise BundleError(f"{output_dir}: the output folder must not contain the project")
    if output.exists():
        if not output.is_dir():
            raise BundleError(f"{output_dir}: exists and is not a folder")
        if any(output.iterdir()) and not (output / BUNDLE_INFO).is_file():
            raise BundleError(
                f"{output_dir}: not empty and not an earlier bundle (no {BUNDLE_INFO}); refusing to delete it"
            )
        shutil.rmtree(output)
    output.mkdir(parents=True)


def build_bundle(
    project_dir: Path | str,
    output_dir: Path | str,
    *,
    airflow_version: str = DEFAULT_AIRFLOW_VERSION,
    config_dir: Path | str | None = None,
    templates_dir: Path | str | None = None,
    include_templates: bool = True,
    startup_script: bool = True,
    extra_requirements: Sequence[str] = (),
) -> Bundle:
    """Build the MWAA bundle of the project in ``output_dir`` (replacing an earlier bundle there).

    ``config_dir`` and ``templates_dir`` default to the project's ``config/`` and ``templates/``; a
    production deployment usually passes its own configuration folder. ``extra_requirements`` are
    appended to requirements.txt (for example a distribution that registers more ships).
    """
    project = Path(project_dir).resolve()
    dag_file = project / DAG_SUBDIR / DAG_FILE
    if not dag_file.is_file():
        raise BundleError(f"{dag_file}: no DAG file; run from the project folder or pass --project-dir")
    config_source = Path(config_dir).resolve() if config_dir else project / "config"
    if not config_source.is_dir():
        raise BundleError(f"{config_source}: no such configuration folder")
    templates_source = Path(templates_dir).resolve() if templates_dir else project / "templates"
    if templates_dir and not templates_source.is_dir():
        raise BundleError(f"{templates_source}: no such templates folder")
    requirements_text, python_version = read_requirements_template(project, airflow_version)
    for package in CODE_PACKAGES:
        if not (project / package / "__init__.py").is_file():
            raise BundleError(f"{project / package}: expected the {package} package in the project folder")

    root = Path(output_dir)
    _prepare_output(root, project)
    dags_dir = root / "dags"
    dags_dir.mkdir()
    _copy_tree(project / DAG_SUBDIR, dags_dir / DAG_SUBDIR)
    for package in CODE_PACKAGES:
        _copy_tree(project / package, dags_dir / package)
    _copy_tree(config_source, dags_dir / "config")
    if include_templates and templates_source.is_dir():
        _copy_tree(templates_source, dags_dir / "templates")
    (dags_dir / ".airflowignore").write_text(
        "# Written by the bundle builder: these folders hold code and data, not DAG files.\n"
        + "\n".join(AIRFLOWIGNORE_LINES)
        + "\n",
        encoding="utf-8",
    )

    requirements = root / "requirements.txt"
    extra = "".join(f"{line.strip()}\n" for line in extra_requirements if line.strip())
    requirements.write_text(requirements_text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    startup = None
    if startup_script:
        startup = root / "startup.sh"
        shutil.copy2(project / "mwaa" / "startup.sh", startup)

    warnings = tuple(check_configuration(dags_dir / "config", dags_dir))
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    info = {
        "project": "starfleet-airflow",
        "source_commit": _source_commit(project),
        "airflow_version": airflow_version,
        "python_version": python_version,
        "dag_file": f"dags/{DAG_SUBDIR}/{DAG_FILE}",
        "files": files,
        "warnings": list(warnings),
    }
    (root / BUNDLE_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return Bundle(root, dags_dir, requirements, startup, airflow_version, python_version, warnings)
