"""Indian mobile numbers and email addresses as people type them, and as we store them."""

import re

from email_validator import EmailNotValidError, validate_email

# Ten digits starting 6-9, optionally after +91, 91 or 0, with spaces or dashes anywhere.
_MOBILE = re.compile(r"^(?:\+?91|0)?([6-9]\d{9})$")


def normalise_mobile(text: str) -> str | None:
    """'+91 98765-43210' → '+919876543210'; None if it is not an Indian mobile number."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    match = _MOBILE.match(digits)
    return f"+91{match.group(1)}" if match else None


def normalise_email(text: str) -> str | None:
    try:
        return validate_email((text or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def mask_mobile(mobile: str | None) -> str:
    """+919876543210 → ••••••3210, for pages and logs that must not show the whole number."""
    return f"••••••{mobile[-4:]}" if mobile else ""


def hint_mobile(mobile: str | None) -> str:
    """+919876543210 → +91 98XXXXX210: enough for its holder to recognise, as utilities' apps show it (with a
    no-break space, so a line never breaks inside the number)."""
    if not mobile or len(mobile) != 13:
        return ""
    return f"{mobile[:3]}\u00a0{mobile[3:5]}XXXXX{mobile[-3:]}"


def hint_email(email: str | None) -> str:
    """asha.patil@example.com → a…@example.com."""
    local, _at, domain = (email or "").partition("@")
    return f"{local[:1]}…@{domain}" if domain else ""
