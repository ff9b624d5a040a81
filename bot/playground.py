"""The playground channel: staff chat with PAU as a test learner on the admin page.

Nothing leaves the server: the outbox row is the transcript the page shows, so sending only
accepts. Registered in every process (web and worker), so whichever runs delivery marks the
playground's rows sent instead of leaving them pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.replies import Reply

if TYPE_CHECKING:
    from webhooks.container import Pau

CHANNEL = "playground"


def sender_id_for(staff_id: int) -> str:
    """The test learner of one staff member (each has their own)."""
    return f"staff-{staff_id}"


class PlaygroundSender:
    """A Sender (core/ports.py) that delivers to the page by leaving the row where it is."""

    async def send(self, address: str, reply: Reply) -> str | None:
        return None


def add_playground(pau: Pau) -> None:
    """Turn the playground channel on (always: it needs no credentials)."""
    pau.senders[CHANNEL] = PlaygroundSender()
