"""Parse a DAGs folder with Airflow's DagBag, as the DAG processor would (runs under any Airflow 3).

It imports nothing from this package at module level, so when it runs from inside a bundle it checks
the bundle's own copy of the code, not an installed one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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


def _broken_tag() -> str | None:
    """The tag the factory gives placeholder DAGs of ships it could not build (it never raises)."""
    try:
        from starfleet_airflow.airflow.naming import BROKEN_TAG
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
