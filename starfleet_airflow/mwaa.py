"""Build the deployment bundle for Amazon MWAA, and parse a DAGs folder the way Airflow does.

MWAA runs Airflow from what its environment bucket holds: the ``dags/`` prefix is synced to the DAGs
folder of every component (``/usr/local/airflow/dags``), ``requirements.txt`` is pip-installed with the
Airflow constraints of the environment's Airflow version, and an optional startup script runs before
Airflow starts. Airflow puts the DAGs folder on ``sys.path``, so the bundle ships our code *inside* it,
laid out like this repository so that every relative path means the same thing in both places (the
DAG file finds ``config/`` next to its own ``dags/`` folder; configuration paths resolve against the
folder holding ``config/``):

    <bundle>/
      dags/                     -> s3://<environment bucket>/dags/ (MWAA's DAGs folder)
        dags/starfleet_dags.py  the DAG file (one DAG per enabled ship), with any other DAG files of dags/
        .airflowignore          keeps Airflow from parsing the folders below as DAG files
        starfleet_airflow/      the framework
        ships/                  ship plugins
        config/                 configuration
        templates/              payload templates (when they are not read from S3)
      requirements.txt          from mwaa/requirements-<airflow version>.txt (constraints line first)
      startup.sh                from mwaa/startup.sh (optional)
      bundle-info.json          what was built: versions, source commit, files

Shipping the source rather than a wheel keeps the deployment one ``aws s3 sync``: no private package
index, no plugins.zip, and the code that runs is the code in the bucket.

The same module parses a DAGs folder with Airflow's ``DagBag`` (``parse`` command). It is written to run
under any Airflow 3 (the CI job runs it from inside the bundle under MWAA's Airflow 3.0.6) and imports
nothing from this package, so it checks the bundle's own copy of the code, not an installed one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DAG_FILE = "starfleet_dags.py"
DAG_SUBDIR = "dags"  # the DAG files' folder inside the bundle's DAGs folder, as in the repository
REQUIREMENTS_TEMPLATE = "requirements-{airflow_version}.txt"
DEFAULT_AIRFLOW_VERSION = "3.0.6"
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


# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------


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
    from starfleet_airflow.config import load_configuration

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


# --------------------------------------------------------------------------------------------------
# Parsing (runs under any Airflow 3; imports nothing from this package)
# --------------------------------------------------------------------------------------------------


@dataclass
class ParseReport:
    """What Airflow's DagBag made of a DAGs folder."""

    airflow_version: str
    dags_dir: str
    seconds: float
    dag_ids: list[str]
    import_errors: dict[str, str]
    dag_tags: dict[str, list[str]] = field(default_factory=dict)
    dag_descriptions: dict[str, str | None] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    modules: dict[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.import_errors

    def tagged(self, tags: Iterable[str]) -> list[str]:
        """DAG ids carrying any of ``tags``."""
        wanted = set(tags)
        return sorted(dag_id for dag_id, dag_tags in self.dag_tags.items() if wanted & set(dag_tags))

    def foreign_modules(self) -> dict[str, str | None]:
        """Our packages that were not imported from the parsed folder (``starfleet_airflow`` must be)."""
        folder = Path(self.dags_dir)
        return {
            name: path
            for name, path in self.modules.items()
            if (path is None and name == "starfleet_airflow")
            or (path is not None and not Path(path).resolve().is_relative_to(folder))
        }


def parse_dags_folder(dags_dir: Path | str) -> ParseReport:
    """Parse ``dags_dir`` with Airflow's DagBag, examples off, as the DAG processor would.

    The folder goes on ``sys.path`` first, as Airflow 3's DAG processor and task runner put the bundle
    root there. ``modules`` records where ``starfleet_airflow`` and ``ships`` were imported from, so a
    caller can prove the bundle's copy was used.
    """
    folder = Path(dags_dir).resolve()
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

    import inspect

    import airflow

    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow >= 3.1
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 3.0

    kwargs: dict[str, Any] = {"dag_folder": str(folder), "bundle_path": folder}
    if "include_examples" in inspect.signature(DagBag).parameters:
        kwargs["include_examples"] = False
    started = time.perf_counter()
    bag = DagBag(**kwargs)
    seconds = time.perf_counter() - started
    files = [
        {"file": str(stat.file), "seconds": _seconds(stat.duration), "dags": stat.dag_num, "tasks": stat.task_num}
        for stat in bag.dagbag_stats
    ]
    modules = {name: getattr(sys.modules.get(name), "__file__", None) for name in ("starfleet_airflow", "ships")}
    return ParseReport(
        airflow_version=airflow.__version__,
        dags_dir=str(folder),
        seconds=round(seconds, 3),
        dag_ids=sorted(bag.dag_ids),
        dag_tags={dag_id: sorted(dag.tags or ()) for dag_id, dag in bag.dags.items()},
        dag_descriptions={dag_id: dag.description for dag_id, dag in bag.dags.items()},
        import_errors={str(path): str(error) for path, error in bag.import_errors.items()},
        files=files,
        modules=modules,
    )


def _seconds(duration: Any) -> float:
    return round(duration.total_seconds() if hasattr(duration, "total_seconds") else float(duration), 3)


# --------------------------------------------------------------------------------------------------
# Command line: python -m starfleet_airflow.mwaa build|parse
# --------------------------------------------------------------------------------------------------


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``build`` options (shared with the ``starfleet-airflow bundle`` command)."""
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="project folder (default: .)")
    parser.add_argument("--output", type=Path, default=Path("build/mwaa"), help="bundle folder (default: build/mwaa)")
    parser.add_argument("--airflow-version", default=DEFAULT_AIRFLOW_VERSION, help="MWAA's Airflow version")
    parser.add_argument("--config-dir", type=Path, help="configuration folder to ship (default: <project>/config)")
    parser.add_argument("--templates-dir", type=Path, help="templates folder to ship (default: <project>/templates)")
    parser.add_argument("--no-templates", action="store_true", help="ship no templates (they live in S3)")
    parser.add_argument("--no-startup-script", action="store_true", help="leave out startup.sh")
    parser.add_argument("--requirement", action="append", default=[], help="extra requirements.txt line (repeatable)")
    parser.add_argument("--strict", action="store_true", help="fail when the build has warnings")


def run_build(args: argparse.Namespace) -> int:
    """Build the bundle from parsed ``build`` arguments; print where it is and what to upload."""
    try:
        bundle = build_bundle(
            args.project_dir,
            args.output,
            airflow_version=args.airflow_version,
            config_dir=args.config_dir,
            templates_dir=args.templates_dir,
            include_templates=not args.no_templates,
            startup_script=not args.no_startup_script,
            extra_requirements=args.requirement,
        )
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"MWAA bundle for Airflow {bundle.airflow_version} (Python {bundle.python_version}) in {bundle.root}")
    print(f"  {bundle.dags_dir}/  -> s3://<environment bucket>/dags/")
    print(f"  {bundle.requirements}  -> s3://<environment bucket>/requirements.txt")
    if bundle.startup_script:
        print(f"  {bundle.startup_script}  -> s3://<environment bucket>/startup.sh")
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 1 if args.strict and bundle.warnings else 0


def _broken_tag() -> str | None:
    """The tag the factory gives placeholder DAGs of ships it could not build (it never raises)."""
    try:
        from starfleet_airflow.factory import BROKEN_TAG
    except ImportError:  # a DAGs folder without our package
        return None
    return BROKEN_TAG


def run_parse(args: argparse.Namespace) -> int:
    """Parse a DAGs folder; exit 1 on an import error, a placeholder DAG of a broken ship, or no DAG.

    The factory turns a ship whose DAG cannot be built into a visible placeholder instead of an import
    error, so an API missing from the Airflow version under test shows up as such DAGs, not as errors.
    """
    report = parse_dags_folder(args.dags_dir)
    broken = report.tagged([tag] if (tag := _broken_tag()) else [])
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(f"Airflow {report.airflow_version} parsed {report.dags_dir} in {report.seconds:.3f} s")
        for stat in report.files:
            print(f"  {stat['file']}: {stat['dags']} DAGs, {stat['tasks']} tasks, {stat['seconds']:.3f} s")
        print(f"DAG ids ({len(report.dag_ids)}): {', '.join(report.dag_ids) or '-'}")
        for name, path in report.modules.items():
            print(f"{name} imported from {path or '-'}")
        for path, error in report.import_errors.items():
            print(f"IMPORT ERROR in {path}:\n{error}", file=sys.stderr)
        for dag_id in broken:
            print(f"BROKEN DAG {dag_id}: {report.dag_descriptions.get(dag_id)}", file=sys.stderr)
    if not report.ok or broken:
        return 1
    if args.require_bundle_code:
        foreign = report.foreign_modules()
        if foreign:
            print(f"error: not imported from {report.dags_dir}: {foreign}", file=sys.stderr)
            return 1
    if not report.dag_ids and not args.allow_empty:
        print(f"error: no DAG found in {report.dags_dir}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m starfleet_airflow.mwaa", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the MWAA deployment bundle")
    add_build_arguments(build)
    build.set_defaults(func=run_build)
    parse = commands.add_parser("parse", help="parse a DAGs folder with Airflow's DagBag")
    parse.add_argument("dags_dir", type=Path)
    parse.add_argument("--json", action="store_true", help="print the report as JSON")
    parse.add_argument("--allow-empty", action="store_true", help="succeed when the folder holds no DAG")
    parse.add_argument(
        "--require-bundle-code",
        action="store_true",
        help="fail unless starfleet_airflow (and ships, when imported) came from the parsed folder",
    )
    parse.set_defaults(func=run_parse)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
