"""A real Airflow for the factory tests: a throw-away SQLite metadata DB and deployments in tmp folders.

``configure_airflow_environment`` runs from ``tests/conftest.py`` before anything imports Airflow, so the
developer's own ``AIRFLOW_HOME`` is never touched. The metadata DB is created once per test session
(``airflow_db``); ``Deployment`` writes a configuration folder, templates and an account index for
one test, and ``run_dag`` runs a ship's DAG with ``dag.test()`` exactly as the DAG file builds it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DAGS_FOLDER = REPO / "dags"
FACTORY_SHIPS = Path(__file__).resolve().parent / "fixtures" / "factory_ships"


def configure_airflow_environment() -> None:
    """Point Airflow at a private home, the repository's dags/ folder and no example DAGs."""
    home = tempfile.mkdtemp(prefix="starfleet-airflow-home-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # Tests rebuild the same dag_id with another configuration within seconds: store every version.
    os.environ["AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL"] = "0"
    # An explicit aws_default connection (region only): credentials come from the test environment, and
    # moto's mock_aws intercepts the hooks' boto3 clients in-process.
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({"conn_type": "aws", "extra": {"region_name": "us-east-1"}})


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[float]:
    """Create the SQLite metadata DB once per session; yields how long that took (seconds)."""
    from airflow.utils import db

    started = time.perf_counter()
    db.initdb()
    yield time.perf_counter() - started


@dataclass
class Deployment:
    """A configuration folder with its templates and account index, under one tmp folder."""

    root: Path
    starfleet: dict[str, Any] = field(default_factory=dict)
    ships: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def add_template(self, key: str, template: dict[str, Any] | str) -> None:
        path = self.templates_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        text = template if isinstance(template, str) else yaml.safe_dump(template, sort_keys=False)
        path.write_text(text, encoding="utf-8")

    def write_index(self, index: dict[str, Any]) -> Path:
        path = self.root / "accountIndex.json"
        path.write_text(json.dumps(index), encoding="utf-8")
        return path

    def write(self, extra_files: dict[str, str] | None = None) -> Path:
        """Write ``starfleet.yaml`` and one file per ship section; returns the configuration folder."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.templates_dir.mkdir(parents=True, exist_ok=True)
        starfleet = {
            "DeploymentRegion": "us-east-1",
            "TemplateLocation": str(self.templates_dir),
            "AccountIndexLocation": str(self.root / "accountIndex.json"),
            "SnapshotLocation": str(self.root / "snapshots"),
            **self.starfleet,
        }
        (self.config_dir / "starfleet.yaml").write_text(yaml.safe_dump({"STARFLEET": starfleet}), encoding="utf-8")
        for name, section in self.ships.items():
            text = yaml.safe_dump({name: section}, sort_keys=False)
            (self.config_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
        for file_name, text in (extra_files or {}).items():
            (self.config_dir / file_name).write_text(text, encoding="utf-8")
        return self.config_dir


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """A fresh deployment; the DAG file (parsed again by ``dag.test``) is pointed at it."""
    found = Deployment(tmp_path / "deployment")
    found.root.mkdir()
    monkeypatch.setenv("STARFLEET_CONFIG_DIR", str(found.config_dir))
    monkeypatch.setenv("STARFLEET_SHIPS_DIR", str(FACTORY_SHIPS))
    return found


@dataclass
class RunResult:
    """A finished ``dag.test()`` run: its state, task states and XComs, read back from the DB."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[tuple[str, int], str]
    rendered_map_indexes: dict[int, str | None]
    plan_label: str | None = None  # the plan task's rendered label: its one-line outcome

    @property
    def note(self) -> str | None:
        """The DAG run's note as the UI and the REST API show it."""
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            return session.query(DagRun).filter_by(dag_id=self.dag_id, run_id=self.run_id).one().note

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = session.scalars(
                XComModel.get_many(
                    run_id=self.run_id, key=key, task_ids=task_id, dag_ids=self.dag_id, map_indexes=map_index
                )
            ).first()
            return None if row is None else XComModel.deserialize_value(row)

    def state_of(self, task_id: str, map_index: int = -1) -> str | None:
        return self.task_states.get((task_id, map_index))

    @property
    def report(self) -> dict[str, Any]:
        """The report task's table: its return value, or the copy pushed before failing the run."""
        return self.xcom("report") or self.xcom("report", key="report")


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, logical_date: Any = None) -> RunResult:
    """Build the DAGs as ``dags/starfleet_dags.py`` does and run one with ``dag.test()``."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from starfleet_airflow.airflow.dags import build_dags

    dags = build_dags()
    assert dag_id in dags, f"{dag_id} not built; DAGs: {sorted(dags)}"
    kwargs: dict[str, Any] = {"run_conf": conf}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    dag_run = dags[dag_id].test(**kwargs)
    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=dag_run.run_id).all()
        states = {(ti.task_id, ti.map_index): getattr(ti.state, "value", ti.state) for ti in tis}
        labels = {ti.map_index: ti.rendered_map_index for ti in tis if ti.task_id == "deliver"}
        plan_label = next((ti.rendered_map_index for ti in tis if ti.task_id == "plan"), None)
    state = getattr(dag_run.state, "value", dag_run.state)
    return RunResult(dag_id, dag_run.run_id, state, states, labels, plan_label)


def sync_dags_to_db() -> None:
    """Parse the dags/ bundle and store the serialized DAGs, as the dag processor (and ``dag.test``) do."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)


def run_existing_dag_run(dag_id: str, run_id: str) -> RunResult:
    """Run the tasks of a DAG run that already exists (e.g. one a backfill created), scheduler-free.

    The loop is ``dag.test()``'s: ask the run which task instances are schedulable, run each in
    process, until the run finishes. ``dag.test()`` itself always creates a new manual run.
    """
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk import timezone
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    from starfleet_airflow.airflow.dags import build_dags

    dag = build_dags()[dag_id]
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    with create_session() as session:
        dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        dag_run.dag = scheduler_dag
        dag_run.state = DagRunState.RUNNING
        session.commit()
        while dag_run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
                ti.scheduled_dttm = timezone.utcnow()
            session.commit()
            scheduled = [
                ti for ti in dag_run.get_task_instances(session=session) if ti.state == TaskInstanceState.SCHEDULED
            ]
            if not scheduled and dag_run.state == DagRunState.RUNNING:
                waiting = {ti.task_id: ti.state for ti in dag_run.get_task_instances(session=session)}
                raise AssertionError(f"{run_id} is not finished but has nothing to run: {waiting}")
            for ti in scheduled:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        state = getattr(dag_run.state, "value", dag_run.state)
        tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        states = {(ti.task_id, ti.map_index): getattr(ti.state, "value", ti.state) for ti in tis}
        labels = {ti.map_index: ti.rendered_map_index for ti in tis if ti.task_id == "deliver"}
    return RunResult(dag_id, run_id, state, states, labels)
