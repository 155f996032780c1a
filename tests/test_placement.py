"""Local shared locations under an executor that runs tasks elsewhere: refused at validate and at plan, with
the key and the fix; the Airflow section's Queue and Executor applied to a ship's tasks."""

from __future__ import annotations

import pytest

from starfleet_airflow.core.config import load_configuration
from starfleet_airflow.core.placement import executor_names, local_location_problems, remote_executors
from starfleet_airflow.devtools.synthetic_org import sample_organisation
from starfleet_airflow.tools.cli import main
from tests.airflow_fixtures import Deployment, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

TEMPLATE = {"TemplateName": "All", "TemplateDescription": "every account", "IncludeAccounts": {"AllAccounts": True}}


def inline_ship(deployment: Deployment, **airflow: object) -> None:
    deployment.write_index(sample_organisation())
    deployment.ships["AccountRecorderShip"] = {
        "Enabled": True,
        "TemplatePrefix": "AccountRecorderShip/",
        "Airflow": {"DeliveryMode": "INLINE", **airflow},
    }
    deployment.add_template("AccountRecorderShip/all.yaml", TEMPLATE)
    deployment.write()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("CeleryExecutor", ["CeleryExecutor"]),
        ("LocalExecutor, CeleryExecutor", ["LocalExecutor", "CeleryExecutor"]),
        ("airflow.providers.amazon.aws.executors.ecs.ecs_executor.AwsEcsExecutor", ["AwsEcsExecutor"]),
        ("LocalExecutor,batch:my_company.executors.BatchExecutor", ["LocalExecutor", "BatchExecutor"]),
        ("", []),
    ],
)
def test_executor_names_read_airflows_setting(value: str, names: list[str]) -> None:
    assert executor_names(value) == names


def test_only_the_local_executors_keep_every_task_on_this_machine() -> None:
    assert remote_executors(["LocalExecutor", "SequentialExecutor"]) == []
    assert remote_executors(["KubernetesExecutor", "AwsLambdaExecutor", "MyExecutor"]) == [
        "KubernetesExecutor",
        "AwsLambdaExecutor",
        "MyExecutor",
    ]


def test_each_local_location_is_named_with_its_fix_under_celery(deployment: Deployment) -> None:
    deployment.starfleet["SnapshotLocation"] = "s3://shared/snapshots/"
    inline_ship(deployment)
    configuration = load_configuration(deployment.config_dir)

    problems = local_location_problems(configuration, {"AccountRecorderShip": "CeleryExecutor"})

    assert [problem.key for problem in problems] == ["TemplateLocation", "AccountIndexLocation"]
    for problem in problems:
        assert problem.file == deployment.config_dir / "starfleet.yaml" and problem.section == "STARFLEET"
        assert "CeleryExecutor runs AccountRecorderShip" in problem.message
        assert f"expected s3://bucket/prefix (set STARFLEET.{problem.key})" in problem.message
    assert local_location_problems(configuration, {"AccountRecorderShip": "LocalExecutor"}) == []


def test_validate_refuses_local_locations_for_a_distributed_executor(deployment: Deployment, capsys) -> None:
    inline_ship(deployment)

    # (The test ships folder holds one deliberately broken ship: validate always reports it.)
    main(["validate", "--config-dir", str(deployment.config_dir), "--executor", "LocalExecutor"])
    local = capsys.readouterr().err
    assert main(["validate", "--config-dir", str(deployment.config_dir), "--executor", "CeleryExecutor"]) == 1
    celery = capsys.readouterr().err
    for key in ("TemplateLocation", "AccountIndexLocation", "SnapshotLocation"):
        assert f"starfleet.yaml: STARFLEET.{key}: " in celery and f"STARFLEET.{key}" not in local
    assert "1 problem found" in local and "4 problems found" in celery


def test_a_ship_on_its_own_remote_executor_is_refused_too(deployment: Deployment, capsys) -> None:
    inline_ship(deployment, Executor="KubernetesExecutor")

    assert main(["validate", "--config-dir", str(deployment.config_dir), "--executor", "LocalExecutor"]) == 1
    err = capsys.readouterr().err
    assert "STARFLEET.SnapshotLocation: " in err and "KubernetesExecutor runs AccountRecorderShip" in err


def test_plan_refuses_a_local_location_under_celery_before_writing_anything(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline_ship(deployment)
    # What the scheduler and workers of a Celery deployment read; dag.test() still runs the tasks here.
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")

    result = run_dag("starfleet_account_recorder_ship")

    assert result.state == "failed" and result.state_of("plan") == "failed"
    assert result.plan_label is not None and result.plan_label.startswith("refused: ")
    assert "STARFLEET.TemplateLocation" in result.plan_label
    assert not (deployment.root / "snapshots").exists(), "no snapshot written on this machine's disk"


def test_queue_and_executor_of_the_airflow_section_reach_every_task(deployment: Deployment) -> None:
    from starfleet_airflow.airflow.dags import build_dags

    inline_ship(deployment, Queue="starfleet-inline", Executor="LocalExecutor", Pool="starfleet")

    dag = build_dags(str(deployment.config_dir))["starfleet_account_recorder_ship"]

    assert {task.task_id for task in dag.tasks} == {"plan", "deliver", "report"}
    for task in dag.tasks:
        assert (task.queue, task.executor, task.pool) == ("starfleet-inline", "LocalExecutor", "starfleet")


def test_templates_deployed_with_the_dags_folder_are_shared_by_every_worker(deployment: Deployment) -> None:
    inline_ship(deployment)
    configuration = load_configuration(deployment.config_dir)
    executors = {"AccountRecorderShip": "CeleryExecutor"}

    shipped = local_location_problems(configuration, executors, dags_folder=deployment.root)
    elsewhere = local_location_problems(configuration, executors, dags_folder=deployment.root / "dags")

    assert [p.key for p in shipped] == ["AccountIndexLocation", "SnapshotLocation"]
    assert [p.key for p in elsewhere] == ["TemplateLocation", "AccountIndexLocation", "SnapshotLocation"]
