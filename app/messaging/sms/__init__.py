"""SMS through an Indian provider. Indian SMS must match a template registered on the DLT platform (TRAI): each
message kind sent by SMS has its template id in the configuration (SMS_TEMPLATES, from DTECH_SMS_TEMPLATES), and
a kind without one is not sent by SMS (PermanentSendError: given up at once, with that reason).

What is common to every template provider lives here (template ids, numbers); app.messaging.sms.msg91 is the
MSG91 adapter."""

import logging
import re

from app.messaging.kinds import MessageKind
from app.messaging.senders import PermanentSendError, sender_class

log = logging.getLogger(__name__)

INDIAN_MOBILE = re.compile(r"^\+91([6-9]\d{9})$")  # as app.auth.contacts stores them


def template_for(templates: dict[str, str], kind: str) -> str:
    """The template id of a kind, or PermanentSendError when none is configured."""
    template_id = templates.get(kind)
    if not template_id:
        raise PermanentSendError(f"no DLT template configured for message kind '{kind}' (DTECH_SMS_TEMPLATES)")
    return template_id


def indian_mobile_digits(to: str) -> str:
    """'+919811111111' → '919811111111' (country code and number, as Indian providers want it)."""
    match = INDIAN_MOBILE.match(to)
    if not match:
        raise PermanentSendError("not an Indian mobile number (+91 and ten digits): DLT SMS go to India only")
    return f"91{match.group(1)}"


def sms_sender_uses_templates(config) -> bool:
    name = config.get("SMS_SENDER") or config["MESSAGE_SENDER"]
    return bool(getattr(sender_class(name), "uses_templates", False))


def template_problems(config) -> list[str]:
    """What is wrong with the SMS templates for the configured sender (empty when nothing is)."""
    if not sms_sender_uses_templates(config):
        return []
    templates = config.get("SMS_TEMPLATES") or {}
    problems = []
    missing = [kind.value for kind in MessageKind if kind.value not in templates]
    if missing:
        problems.append(f"no DLT template for message kinds {', '.join(missing)}: those are not sent by SMS")
    unknown = sorted(set(templates) - {kind.value for kind in MessageKind})
    if unknown:
        problems.append(f"DTECH_SMS_TEMPLATES names unknown message kinds {', '.join(unknown)}")
    return problems


def warn_about_templates(config) -> None:
    """At start-up: say which kinds a template provider will refuse, before a customer misses an SMS."""
    for problem in template_problems(config):
        log.warning("SMS: %s", problem)
