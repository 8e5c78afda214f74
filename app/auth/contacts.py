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
