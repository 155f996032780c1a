"""A reviewed ship's DAG as Airflow parses it, the refusal of reviewed SQS ships, and Airflow without
human-in-the-loop operators (as on MWAA 3.0.6: importing them raises AirflowOptionalProviderFeatureException).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from starfleet_airflow.airflow.review.availability import review_unavailable
from starfleet_airflow.tools.cli import main
from tests.airflow_fixtures import DAGS_FOLDER, FACTORY_SHIPS, Deployment

HITL_MODULE = "airflow.providers.standard.operators.hitl"
INLINE = {"DeliveryMode": "INLINE"}
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def ships(deployment: Deployment, review: dict[str, Any]) -> None:
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {**INLINE, **review},
    }
    deployment.ships["RegionRecorderShip"] = {"Enabled": True, "TemplatePrefix": "R/", "InvocationQueueUrl": QUEUE}
    deployment.write()


def test_a_reviewed_dag_reads_dry_run_review_approve_apply_report(deployment: Deployment) -> None:
    ships(deployment, {"Review": True, "ReviewTimeoutSeconds": 5400, "Reviewers": ["alice", "carol"]})
    bag = dagbag()
    assert bag.import_errors == {}
    dag = bag.dags["starfleet_account_recorder_ship"]
    assert [task.task_id for task in dag.tasks] == ["plan", "dry_run", "review", "approve", "apply", "report"]
    assert "reviewed" in dag.tags
    assert dag.get_task("dry_run").downstream_task_ids == {"review", "report"}
    assert dag.get_task("approve").downstream_task_ids == {"apply"}  # a Reject skips exactly the apply
    for mapped in ("dry_run", "apply"):
        assert dag.get_task(mapped).map_index_template == dag.get_task("dry_run").map_index_template
        assert "starfleet_unit_label" in dag.get_task(mapped).map_index_template
    approve = dag.get_task("approve")
    assert (approve.options, approve.defaults, approve.retries) == (["Approve", "Reject"], ["Reject"], 0)
    assert approve.response_timeout.total_seconds() == 5400
    assert approve.assigned_users == [{"id": "alice", "name": "alice"}, {"id": "carol", "name": "carol"}]
    assert list(approve.params) == ["comment"]  # the form asks for a comment only, and it is optional
    assert "within 90 minutes" in approve.doc_md
    # The run may wait for its approver on top of its work; the approval has no task time limit of its own.
    assert dag.dagrun_timeout.total_seconds() == 21_600 + 5400
    assert approve.execution_timeout is None
    assert dag.get_task("apply").execution_timeout == dag.get_task("dry_run").execution_timeout
    assert dag.get_task("dry_run").execution_timeout.total_seconds() == 3600
    assert "Every run is a dry run first" in dag.params.get_param("commit").description
    assert "**Reviewed runs:** on" in dag.doc_md and "`alice`, `carol`" in dag.doc_md

    plain = bag.dags["starfleet_region_recorder_ship"]
    assert [task.task_id for task in plain.tasks] == ["plan", "deliver", "report"]
    assert "**Reviewed runs:** off" in plain.doc_md and "reviewed" not in plain.tags


def test_a_reviewed_sqs_ship_is_refused_naming_the_key_and_the_fix(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.ships["RegionRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "R/",
        "InvocationQueueUrl": QUEUE,
        "Airflow": {"Review": True},
    }
    config = deployment.write()
    bag = dagbag()
    broken = bag.dags["starfleet_region_recorder_ship__broken"]
    assert "Airflow.Review" in broken.doc_md and "set Airflow.DeliveryMode: INLINE" in broken.doc_md
    code = main(["validate", "--config-dir", str(config), "--ships-dir", str(FACTORY_SHIPS), "--no-entry-points"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{config / 'RegionRecorderShip.yaml'}: RegionRecorderShip.Airflow.Review: reviewed mode runs" in err


@pytest.mark.parametrize("timeout", [0, -5, "soon"])
def test_the_review_timeout_must_be_a_positive_number_of_seconds(deployment: Deployment, timeout: Any) -> None:
    ships(deployment, {"Review": True, "ReviewTimeoutSeconds": timeout})
    broken = dagbag().dags["starfleet_account_recorder_ship__broken"]
    assert "Airflow.ReviewTimeoutSeconds" in broken.doc_md


class _AirflowWithoutHitl(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes the HITL operators' module behave as on Airflow 3.0: it raises when imported."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        return importlib.machinery.ModuleSpec(name, self) if name == HITL_MODULE else None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        from airflow.exceptions import AirflowOptionalProviderFeatureException

        raise AirflowOptionalProviderFeatureException("Human in the loop functionality needs Airflow 3.1+.")


@pytest.fixture
def airflow_without_hitl(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (HITL_MODULE, "starfleet_airflow.airflow.review.approval"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_AirflowWithoutHitl(), *sys.meta_path])
    review_unavailable.cache_clear()
    yield
    review_unavailable.cache_clear()


@pytest.mark.usefixtures("airflow_without_hitl")
def test_without_hitl_operators_a_reviewed_ship_is_broken_and_every_other_ship_works(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    ships(deployment, {"Review": True})
    why = review_unavailable()
    assert why is not None and "needs Airflow 3.1+" in why and "AirflowOptionalProviderFeatureException" in why

    bag = dagbag()
    assert bag.import_errors == {}
    broken = bag.dags["starfleet_account_recorder_ship__broken"]
    assert (
        "AccountRecorderShip.Airflow.Review: reviewed mode (Airflow.Review: true) needs Airflow 3.1+" in broken.doc_md
    )
    assert "its changes never run unreviewed" in broken.doc_md
    assert [t.task_id for t in bag.dags["starfleet_region_recorder_ship"].tasks] == ["plan", "deliver", "report"]

    code = main(["validate", "--config-dir", str(deployment.config_dir), "--ships-dir", str(FACTORY_SHIPS)])
    assert code == 1
    assert "AccountRecorderShip.Airflow.Review: reviewed mode (Airflow.Review: true) needs Airflow 3.1+" in (
        capsys.readouterr().err
    )
