"""``python -m starfleet_airflow.tools.mwaa build|parse``: the bundle builder's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from starfleet_airflow.tools.mwaa.bundle import DEFAULT_AIRFLOW_VERSION, BundleError, build_bundle
from starfleet_airflow.tools.mwaa.parse import run_parse


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m starfleet_airflow.tools.mwaa",
        description="Build the Amazon MWAA bundle, or parse a DAGs folder with Airflow's DagBag.",
    )
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
