"""Where a ship's tasks may run, and what must therefore live on shared storage.

``plan`` writes the run's snapshot and reads the index and the templates; every ``deliver`` and the
``report`` read the snapshot again. Under an executor that can run tasks on another machine (Celery,
Kubernetes, ECS, Lambda, Edge, MWAA's Celery), a local ``TemplateLocation``, ``AccountIndexLocation`` or
``SnapshotLocation`` is a path on one machine only: tasks elsewhere would read another disk and fail late
with a missing file (or read a stale copy). Such a configuration is refused up front, naming the key and
the fix. Airflow-free: the Airflow layer and the CLI pass the executor names in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from starfleet_airflow.core.config import STARFLEET_SECTION, ConfigProblem, Configuration

# Executors that run every task on the scheduler's machine. Anything else (CeleryExecutor,
# KubernetesExecutor, CeleryKubernetesExecutor, AwsEcsExecutor, AwsLambdaExecutor, EdgeExecutor, a
# custom class) may run a task elsewhere.
LOCAL_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})
SHARED_LOCATIONS = (
    ("TemplateLocation", "template_location"),
    ("AccountIndexLocation", "account_index_location"),
    ("SnapshotLocation", "snapshot_location"),
)


def executor_names(value: str | None) -> list[str]:
    """Airflow's ``[core] executor`` (``"CeleryExecutor"``, ``"LocalExecutor,alias:my.module.MyExecutor"``) ->
    executor class names, the default (first) one first."""
    names = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        path = item.split(":", 1)[-1].strip()  # "alias:module.Class" -> "module.Class"
        names.append(path.rsplit(".", 1)[-1])
    return names


def remote_executors(names: Iterable[str]) -> list[str]:
    """The executors among ``names`` that may run a task on another machine."""
    found: list[str] = []
    for name in names:
        short = executor_names(name)[0] if name else ""
        if short and short not in LOCAL_EXECUTORS and short not in found:
            found.append(short)
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def ship_executors(configured: Sequence[str], ship_options: Mapping[str, Mapping[str, object]]) -> dict[str, str]:
    """Ship name -> the executor its tasks run on: its ``Airflow.Executor``, else Airflow's default one."""
    default = configured[0] if configured else "LocalExecutor"
    return {name: str(options.get("executor") or default) for name, options in ship_options.items()}


def local_location_problems(
    configuration: Configuration, executors: Mapping[str, str], dags_folder: Path | None = None
) -> list[ConfigProblem]:
    """One problem per local shared location when some ship's executor (``executors``: ship -> executor)
    can run its tasks on another machine.

    A local ``TemplateLocation`` inside ``dags_folder`` is deployed with the DAGs (MWAA copies the DAGs
    folder to every container), so every worker reads the same templates: it is allowed. The index and
    the snapshots are written by tasks, so they never are.
    """
    remote = {ship: executor for ship, executor in executors.items() if remote_executors([executor])}
    if not remote:
        return []
    by_executor: dict[str, list[str]] = {}
    for ship, executor in sorted(remote.items()):
        by_executor.setdefault(executor, []).append(ship)
    used_by = "; ".join(
        f"{executor} runs {', '.join(ships[:2])}" + (f" and {len(ships) - 2} more" if len(ships) > 2 else "")
        for executor, ships in by_executor.items()
    )
    problems = []
    for key, attribute in SHARED_LOCATIONS:
        location = getattr(configuration, attribute)
        if location is None or location.is_s3:
            continue
        if key == "TemplateLocation" and dags_folder is not None and _inside(Path(location.key), dags_folder):
            continue
        written = configuration.starfleet.get(attribute)
        shown = f"{location}" if written else f"{location} (the default with local templates)"
        problems.append(
            ConfigProblem(
                configuration.section_files.get(STARFLEET_SECTION),
                STARFLEET_SECTION,
                key,
                f"{shown} is a local path, but tasks run where the executor puts them ({used_by}), and"
                f" another machine does not have it; expected s3://bucket/prefix (set STARFLEET.{key}), or a local"
                " executor (LocalExecutor)",
            )
        )
    return problems
