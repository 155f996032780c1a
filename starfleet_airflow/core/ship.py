"""The worker ship contract: what a ship is, how it fans out, how it is invoked.

This is Starfleet's ``StarfleetWorkerShip`` (``starfleet.worker_ships.ship_schematics`` serves this very
class to Starfleet ships): the class attributes (``fan_out_strategy``, ``payload_template_class``,
``configuration_template_class``, with Starfleet's defaults), ``load_template``, ``execute(commit)`` and
``send_alert`` keep their names and meaning, and ``TheShip()`` with no arguments works as in Starfleet. What
Airflow adds (the run's logical date and data interval, the AWS session to start from) arrives through
optional attributes a Starfleet ship can ignore.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from starfleet_airflow.core.changes import ChangeSummary, make_change_summary
from starfleet_airflow.core.enums import AlertPriority, FanOutStrategy
from starfleet_airflow.core.schemas.configuration import WorkerShipBaseConfigurationTemplate
from starfleet_airflow.core.schemas.payload import WorkerShipPayloadBaseTemplate

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3


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
    # Starfleet's defaults (its GitHubSyncWorkerShip relies on the configuration one).
    payload_template_class: ClassVar[type[WorkerShipPayloadBaseTemplate]] = WorkerShipPayloadBaseTemplate
    configuration_template_class: ClassVar[type[WorkerShipBaseConfigurationTemplate]] = (
        WorkerShipBaseConfigurationTemplate
    )

    payload: dict[str, Any]
    # Set from the section's AlertConfiguration (Starfleet: by worker_lambda only); NONE sends nothing.
    alert_priority: AlertPriority
    alert_channel: str | None
    #: What ``report_changes`` recorded during the last ``execute`` (None: the ship did not say).
    change_summary: ChangeSummary | None = None

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
        self._attach_run(configuration, starfleet_configuration, run_context, aws_session)

    def _attach_run(
        self,
        configuration: dict[str, Any] | None = None,
        starfleet_configuration: dict[str, Any] | None = None,
        run_context: RunContext | None = None,
        aws_session: boto3.Session | None = None,
    ) -> None:
        """Give the ship what the orchestrator knows (``__init__`` does it; ``create_ship`` for no-argument ships).

        The alert settings come from the section's ``AlertConfiguration`` (loaded: ``channel_id`` and the
        priority's name); without one the ship sends no alert.
        """
        self.configuration = configuration or {}
        self.starfleet_configuration = starfleet_configuration or {}
        self.run_context = run_context or RunContext()
        self._aws_session = aws_session
        alert = self.configuration.get("alert_configuration") or {}
        self.alert_channel = alert.get("channel_id")
        self.alert_priority = AlertPriority[alert["alert_priority"]] if alert else AlertPriority.NONE

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

    def report_changes(self, changed: bool, summary: str = "", diff: str = "") -> None:
        """Say what this target needs (in a dry run) or got (with commit); optional.

        ``changed``: the target differs from the template; ``summary``: one line for a reviewer
        (``"2 changes: update_trust_policy, attach_managed_policy"``); ``diff``: a short human-readable
        diff. A reviewed run shows these to the approver and applies only the targets that would change;
        a ship that never calls this is taken to change every target. Call it once per ``execute``
        (the last call counts), before anything can fail half-way, so a failed commit still says what
        it was doing.
        """
        self.change_summary = make_change_summary(changed, summary, diff)

    def send_alert(self, message_priority: AlertPriority, title: str, body_markdown: str) -> None:
        """Post a Slack alert when ``message_priority`` reaches the ship's ``AlertConfiguration`` threshold.

        Starfleet's order and message format (``STARFLEET.SlackEnabled`` must be true). It never raises:
        the alert is about the ship's work, and failing to post it must not fail (or retry) that work.
        """
        from starfleet_airflow.core.alerts import ALERTS

        ALERTS.send(self, message_priority, title, body_markdown)


@functools.cache
def _takes_orchestrator_arguments(ship_class: type[StarfleetWorkerShip]) -> bool:
    """Whether the class's ``__init__`` accepts ours (a Starfleet ship may define ``__init__(self)``)."""
    try:
        inspect.signature(ship_class).bind(configuration=None, starfleet_configuration=None, run_context=None)
    except TypeError:
        return False
    return True


def create_ship(
    ship_class: type[StarfleetWorkerShip],
    configuration: dict[str, Any] | None = None,
    starfleet_configuration: dict[str, Any] | None = None,
    run_context: RunContext | None = None,
    aws_session: boto3.Session | None = None,
) -> StarfleetWorkerShip:
    """A ship instance with the orchestrator's context, whether or not its ``__init__`` takes arguments."""
    if _takes_orchestrator_arguments(ship_class):
        return ship_class(
            configuration=configuration,
            starfleet_configuration=starfleet_configuration,
            run_context=run_context,
            aws_session=aws_session,
        )
    ship = ship_class()
    ship._attach_run(configuration, starfleet_configuration, run_context, aws_session)
    return ship
