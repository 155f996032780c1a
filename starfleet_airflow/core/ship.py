"""The worker ship contract: what a ship is, how it fans out, how it is invoked.

A ship written for Starfleet ports here with import changes only: the class attributes
(``fan_out_strategy``, ``payload_template_class``, ``configuration_template_class``), ``load_template``
and ``execute(commit)`` keep their names and meaning. What Airflow adds (the run's logical date and data
interval, the AWS session to start from) arrives through optional attributes a Starfleet ship can ignore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from starfleet_airflow.core.enums import FanOutStrategy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3

    from starfleet_airflow.core.schemas import (
        WorkerShipBaseConfigurationTemplate,
        WorkerShipPayloadBaseTemplate,
    )


@dataclass(frozen=True)
class RunContext:
    """What the orchestrator knows about the run a ship executes in.

    Ships that report on a time window need the logical date and data interval; a ship run by hand
    (CLI, Lambda) gets ``None`` for what does not exist there.
    """

    dag_run_id: str | None = None
    logical_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StarfleetWorkerShip:
    """Base class of every worker ship.

    Subclasses set the class attributes and implement ``execute``. The ship name is the class name and
    doubles as the key of the ship's section in the configuration YAML.
    """

    fan_out_strategy: ClassVar[FanOutStrategy] = FanOutStrategy.SINGLE_INVOCATION
    # Classes, not instances: the loader instantiates them, so a schema can carry per-load state.
    payload_template_class: ClassVar[type[WorkerShipPayloadBaseTemplate]]
    configuration_template_class: ClassVar[type[WorkerShipBaseConfigurationTemplate]]

    payload: dict[str, Any]

    def __init__(
        self,
        configuration: dict[str, Any] | None = None,
        starfleet_configuration: dict[str, Any] | None = None,
        run_context: RunContext | None = None,
        aws_session: boto3.Session | None = None,
    ) -> None:
        """Keep what ``execute`` may need.

        ``configuration`` is this ship's validated section (snake_case keys, as the configuration
        schema loaded it); ``starfleet_configuration`` the validated ``STARFLEET`` section;
        ``aws_session`` the session that ships start from (the Airflow connection's credentials
        inline, the Lambda's role otherwise) before assuming a role in a target account.
        """
        self.configuration: dict[str, Any] = configuration or {}
        self.starfleet_configuration: dict[str, Any] = starfleet_configuration or {}
        self.run_context: RunContext = run_context or RunContext()
        self._aws_session = aws_session

    @classmethod
    def get_worker_ship_name(cls) -> str:
        """The ship's name: its class name, also its configuration section key."""
        return cls.__name__

    @property
    def worker_ship_name(self) -> str:
        """Instance access to the ship's name, as Starfleet ships expect."""
        return self.get_worker_ship_name()

    @property
    def aws_session(self) -> boto3.Session:
        """The session to start from; a default boto3 session when the runner supplied none."""
        if self._aws_session is None:
            import boto3

            self._aws_session = boto3.Session()
        return self._aws_session

    def load_template(self, raw_template: dict[str, Any]) -> None:
        """Validate a raw payload (UpperCamelCase YAML) and keep it, snake_case, as ``self.payload``.

        Raises ``marshmallow.ValidationError`` when the payload does not fit the ship's schema.
        """
        self.payload = self.payload_template_class().load(raw_template)

    def execute(self, commit: bool = False) -> Any:
        """Do the job described by ``self.payload``; change nothing unless ``commit`` is true.

        The return value (optional, JSON-serialisable) is recorded as the target's outcome detail.
        """
        raise NotImplementedError(f"{self.worker_ship_name} does not implement execute()")
