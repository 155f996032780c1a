"""The names of Starfleet's model: fan-out strategies, invocation sources, frequencies, delivery modes.

Kept apart from the ship class so that the schemas (which validate these names) and the ship contract
(which declares them) both depend on this module and never on each other.
"""

from __future__ import annotations

from enum import Enum


class FanOutStrategy(Enum):
    """The unit of work of a ship: one run, one per account, one per enabled account/region pair."""

    SINGLE_INVOCATION = "SINGLE_INVOCATION"
    ACCOUNT = "ACCOUNT"
    ACCOUNT_REGION = "ACCOUNT_REGION"


class InvocationSource(Enum):
    """What may start a ship. Starfleet's names, so its configuration files load unchanged."""

    S3 = "S3"
    SQS = "SQS"
    EVENTBRIDGE_TIMED_EVENT = "EVENTBRIDGE_TIMED_EVENT"


class EventBridgeFrequency(Enum):
    """Starfleet's timed frequencies; ``starfleet_airflow.airflow.schedules`` maps them to Airflow schedules."""

    FIVE_MIN = "FIVE_MIN"
    FIFTEEN_MIN = "FIFTEEN_MIN"
    THIRTY_MIN = "THIRTY_MIN"
    HOURLY = "HOURLY"
    SIX_HOURLY = "SIX_HOURLY"
    TWELVE_HOURLY = "TWELVE_HOURLY"
    DAILY = "DAILY"


class DeliveryMode(Enum):
    """Where rendered payloads go: the ship's SQS queue (ship runs as a Lambda) or an Airflow worker."""

    SQS = "SQS"
    INLINE = "INLINE"


class AlertPriority(Enum):
    """How loud a ship alert is, in Starfleet's order: a ship configured at one level gets that level and louder.

    The values are Starfleet's (quietest threshold ``NONE`` = 0 to the most verbose ``INFORMATIONAL`` = 4): a
    message of priority P is sent when the ship's ``AlertConfiguration.AlertPriority`` T satisfies
    ``T.value >= P.value > NONE.value``, so ``PROBLEM`` gets only problems and ``INFORMATIONAL`` everything.
    """

    NONE = 0
    PROBLEM = 1
    IMPORTANT = 2
    SUCCESS = 3
    INFORMATIONAL = 4


class TargetCheck(Enum):
    """What the SQS-fed Lambda checks about the target a message names before running the ship.

    ``NONE`` trusts the queue, as Starfleet's workers do; ``INDEX`` runs only targets that the message's
    own template selects when resolved against the account index (accounts of the organisation, enabled
    regions, within ``ScopeToRegions``).
    """

    NONE = "NONE"
    INDEX = "INDEX"
