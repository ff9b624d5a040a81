"""One error tree for PAU.

PauError
├── ConfigurationError      PAU cannot start as configured (the message says what to set)
├── ContentError            a course folder is invalid (carries file:line problems)
└── DeliveryError           sending to a platform failed
    ├── RetryableDelivery   429, 5xx, network: try again later (retry_after in seconds)
    │   └── DeliveryOutcomeUnknown   timed out after the request went out: it may have arrived
    ├── PermanentDelivery   the platform refused for good (blocked, bad chat id)
    │   └── LearnerUnreachable   the learner blocked the bot: stop sending
    └── OutsideWindow       WhatsApp's 24-hour window is closed: hold it, send a template
"""

from __future__ import annotations


class PauError(Exception):
    """Base of every error PAU raises on purpose."""


class ConfigurationError(PauError):
    """The settings are unsafe or incomplete; the message tells the operator what to change."""


class ContentError(PauError):
    """A course folder failed validation; `problems` are `file:line: message` strings."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DeliveryError(PauError):
    """Sending a reply to a platform failed."""


class RetryableDelivery(DeliveryError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryOutcomeUnknown(RetryableDelivery):
    """The request may have reached the platform (it timed out waiting for the answer): a
    retry may deliver the message twice, so it waits longer and is counted."""


class PermanentDelivery(DeliveryError):
    """The platform will never accept this message; do not retry."""


class LearnerUnreachable(PermanentDelivery):
    """The learner blocked the bot or left: stop retries and nudges."""


class OutsideWindow(DeliveryError):
    """WhatsApp takes free-form messages only within 24 hours of the learner's last message
    (error 131047 says so too): the reply waits until they write again, and an approved template
    asks them to."""
