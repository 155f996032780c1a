"""``starfleet.utils.slack``: ``SLACK_CLIENT`` with Starfleet's ``post_info/success/important/problem``.

Ships should call ``self.send_alert`` (which honours their ``AlertConfiguration``); these post to a channel
directly, through the same router (``STARFLEET.SlackEnabled``, the token, Starfleet's message shape). They never
raise and return whether Slack accepted the message (Starfleet's ``post_problem`` raised ``SlackError``).
"""

from __future__ import annotations

from starfleet_airflow.core.alerts import ALERTS
from starfleet_airflow.core.enums import AlertPriority


class SlackError(Exception):
    """Starfleet's error for a failed problem post; kept for ships that catch it (never raised here)."""


class SlackClient:
    """Posts Starfleet-shaped messages to a channel id."""

    def reset(self) -> None:
        """Starfleet's tests call it between cases; nothing is cached per client here."""

    def _post(self, priority: AlertPriority, channel_id: str, title: str, body_markdown: str) -> bool:
        return ALERTS.post("SLACK_CLIENT", channel_id, priority, title, body_markdown)

    def post_info(self, channel_id: str, title: str, body_markdown: str) -> bool:
        return self._post(AlertPriority.INFORMATIONAL, channel_id, title, body_markdown)

    def post_success(self, channel_id: str, title: str, body_markdown: str) -> bool:
        return self._post(AlertPriority.SUCCESS, channel_id, title, body_markdown)

    def post_important(self, channel_id: str, title: str, body_markdown: str) -> bool:
        return self._post(AlertPriority.IMPORTANT, channel_id, title, body_markdown)

    def post_problem(self, channel_id: str, title: str, body_markdown: str) -> bool:
        return self._post(AlertPriority.PROBLEM, channel_id, title, body_markdown)


SLACK_CLIENT = SlackClient()

__all__ = ["SLACK_CLIENT", "SlackClient", "SlackError"]
