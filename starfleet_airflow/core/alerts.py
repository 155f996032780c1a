"""Ship alerts to Slack: Starfleet's ``send_alert``, its priority order and message shape, never failing the work.

A ship calls ``self.send_alert(AlertPriority.SUCCESS, title, body_markdown)``. The alert is posted with
Slack's Web API method ``chat.postMessage`` when all of these hold: the ship's ``AlertConfiguration`` threshold
lets the priority through (Starfleet's order, ``AlertPriority``), ``STARFLEET.SlackEnabled`` is true, and the
ship has a channel. The message is Starfleet's: a header block ``"<emoji>  <title>"`` and a markdown section.

Where the token comes from is pluggable: by default Starfleet's way, ``SECRETS_MANAGER.secrets["STARFLEET"]
["SlackToken"]`` with the Slack SDK's ``WebClient`` (at ``STARFLEET.SlackApiUrl``); inside Airflow tasks with
``STARFLEET.SlackConnId`` set, the Airflow layer installs a poster built on the Slack provider's hook.

Unlike Starfleet, no failure escapes: a missing token, an unreadable secret or an error from Slack is logged
and ``send`` returns False. The alert reports on the ship's work; failing to post it must not fail that work
(a Lambda would retry a change it already made, an Airflow target would be reported failed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from starfleet_airflow.core.enums import AlertPriority
from starfleet_airflow.core.schemas.alerts import SLACK_API_URL
from starfleet_airflow.core.secrets import SECRETS_MANAGER
from starfleet_airflow.core.starfleet_configuration import STARFLEET_CONFIGURATION

log = logging.getLogger(__name__)

PRIORITY_EMOJI: dict[AlertPriority, str] = {
    AlertPriority.INFORMATIONAL: "\u2139\ufe0f",  # INFORMATION SOURCE, emoji presentation
    AlertPriority.SUCCESS: "✅",
    AlertPriority.IMPORTANT: "📣",
    AlertPriority.PROBLEM: "🚨",
}


class SlackPoster(Protocol):
    """Posts one message; raises on any failure (the router catches and logs it)."""

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> None: ...


def should_send(threshold: AlertPriority, priority: AlertPriority) -> bool:
    """Starfleet's rule: a ship at ``threshold`` gets ``priority`` when ``threshold >= priority > NONE``."""
    return threshold.value >= priority.value > AlertPriority.NONE.value


def slack_message(priority: AlertPriority, title: str, body_markdown: str) -> tuple[str, list[dict[str, Any]]]:
    """Starfleet's message: the fallback text (the header) and the two Block Kit blocks."""
    header = f"{PRIORITY_EMOJI[priority]}  {title}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body_markdown}},
    ]
    return header, blocks


class WebApiPoster:
    """``chat.postMessage`` through the Slack SDK's ``WebClient`` (what Starfleet used)."""

    def __init__(self, token: str, base_url: str = SLACK_API_URL) -> None:
        from slack_sdk import WebClient

        self.client = WebClient(token=token, base_url=base_url)

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)  # raises SlackApiError if not ok


class AlertRouter:
    """``ALERTS``: decides whether an alert goes out, builds it, posts it, and never raises."""

    def __init__(self) -> None:
        self._poster_factory: Callable[[], SlackPoster] | None = None
        self._muted = 0
        self._default: tuple[tuple[str, str], WebApiPoster] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def posting_with(self, factory: Callable[[], SlackPoster]) -> Iterator[None]:
        """Post through ``factory()`` inside the block (the Airflow layer's Slack connection)."""
        previous = self._poster_factory
        self._poster_factory = factory
        try:
            yield
        finally:
            self._poster_factory = previous

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Send nothing inside the block (the CLI: a person at a terminal, as Starfleet's CLI does)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def send(self, ship: Any, priority: AlertPriority, title: str, body_markdown: str) -> bool:
        """Post the alert if the ship's settings ask for it; True when Slack accepted it."""
        name = getattr(ship, "worker_ship_name", type(ship).__name__)
        try:
            threshold = getattr(ship, "alert_priority", AlertPriority.NONE)
            if not should_send(threshold, priority):
                return False
            if self._muted:
                log.info("%s: alert %r not sent (alerts are off here): %s", name, title, priority.name)
                return False
            channel = getattr(ship, "alert_channel", None)
            if not channel:
                log.warning("%s: alert %r not sent: AlertConfiguration has no ChannelId", name, title)
                return False
        except Exception as exc:  # a ship object missing Starfleet's attributes must not fail its work either
            log.error("%s: alert %r could not be sent: %s: %s", name, title, type(exc).__name__, exc)
            return False
        return self.post(name, channel, priority, title, body_markdown)

    def post(self, sender: str, channel: str, priority: AlertPriority, title: str, body_markdown: str) -> bool:
        """Post to ``channel`` whatever the threshold (Starfleet's ``SLACK_CLIENT.post_*``); never raises."""
        try:
            # The raw section, as Starfleet reads it: its CLI and its tests switch SlackEnabled there.
            raw = STARFLEET_CONFIGURATION.config.get("STARFLEET") or {}
            if not _truthy(raw.get("SlackEnabled", False)):
                log.debug("%s: alert %r not sent: STARFLEET.SlackEnabled is false", sender, title)
                return False
            text, blocks = slack_message(priority, title, body_markdown)
            self._poster(raw).post(channel, text, blocks)
            return True
        except Exception as exc:  # an alert must never fail the ship's work
            log.error(
                "%s: alert %r (%s) could not be sent: %s: %s", sender, title, priority.name, type(exc).__name__, exc
            )
            return False

    def _poster(self, raw_starfleet: dict[str, Any]) -> SlackPoster:
        if self._poster_factory is not None:
            return self._poster_factory()
        token = SECRETS_MANAGER.secrets["STARFLEET"]["SlackToken"]
        key = (token, str(raw_starfleet.get("SlackApiUrl") or SLACK_API_URL))
        with self._lock:
            if self._default is None or self._default[0] != key:
                self._default = (key, WebApiPoster(*key))
            return self._default[1]


def _truthy(value: Any) -> bool:
    """YAML's booleans, and the strings marshmallow's Boolean field accepts (``"true"``, ``"yes"``, ...)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "yes", "y", "on", "1"}
    return bool(value)


ALERTS = AlertRouter()
