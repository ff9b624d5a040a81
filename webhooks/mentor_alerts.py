"""Urgent escalations reach the on-duty mentors at once: a JSON POST to PAU_MENTOR_ALERT_URL
(a chat webhook, an incident tool) and/or PAU_MENTOR_ALERT_COMMAND run with the same JSON on
its standard input (e.g. a script around `mail`). The alert carries no learner text or number:
only a link to the escalation on the admin page, which asks the mentor to sign in.

It runs as the NOTIFY_MENTORS command (DESIGN.md §2): a failure raises, and the command worker
tries again with backoff.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
from typing import Any

import httpx

from storage.escalations import AlertFacts, alert_facts
from webhooks.config import Settings

log = logging.getLogger(__name__)
ALERT_TIMEOUT_SECONDS = 10.0
REASONS = {
    "crisis": "crisis language: the learner may be at risk",
    "asked": "the learner asked for a person",
    "tutor": "the tutor handed over",
    "no_answer": "nothing in the course answered it",
}


def urgent_alert(session: Any, *, escalation_id: int, base_url: str) -> dict[str, Any] | None:
    facts = alert_facts(session, escalation_id=escalation_id)
    return None if facts is None else alert_document(facts, base_url)


def alert_document(facts: AlertFacts, base_url: str) -> dict[str, Any]:
    link = f"{base_url.rstrip('/')}/admin/escalations/{facts.escalation_id}"
    why = REASONS.get(facts.reason, facts.reason)
    return {
        "event": "urgent_escalation",
        "escalation_id": facts.escalation_id,
        "reason": facts.reason,
        "opened_at": facts.created_at.isoformat(),
        "url": link,
        "on_duty": facts.on_duty,
        "text": f"Urgent escalation #{facts.escalation_id} ({why}) waits for a mentor: {link}",
    }


def send_alert(alert: dict[str, Any] | None, settings: Settings) -> dict[str, Any]:
    """Send the alert every configured way; raises when one of them fails (tried again)."""
    if alert is None:  # the learner deleted their data meanwhile
        return {"sent": []}
    sent = []
    if settings.pau_mentor_alert_url:
        response = httpx.post(
            settings.pau_mentor_alert_url, json=alert, timeout=ALERT_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        sent.append("webhook")
    if settings.pau_mentor_alert_command:
        subprocess.run(
            shlex.split(settings.pau_mentor_alert_command),
            input=json.dumps(alert).encode("utf-8"),
            timeout=ALERT_TIMEOUT_SECONDS,
            check=True,
            capture_output=True,
        )
        sent.append("command")
    if not sent:
        log.warning(
            "urgent escalation %s: no PAU_MENTOR_ALERT_URL or PAU_MENTOR_ALERT_COMMAND is set, "
            "so only the inbox shows it", alert["escalation_id"],
        )  # fmt: skip
    return {"sent": sent}
