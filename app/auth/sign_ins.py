"""The sign-in history: who signed in when, from which kind of device and which network. Kept short on purpose:
the network, not the address (an IPv4 /24, an IPv6 /48: enough to tell "my usual network" from "somewhere else",
not to point at one house), and a browser-and-system summary, not the whole User-Agent; rows older than
KEEP["sign_ins"] (configured) go (prune_security_records), and an erased user's with their data."""

import ipaddress
import re

from flask import current_app
from sqlalchemy import delete, select

from app.auth.models import SignIn, User
from app.db import utcnow
from app.extensions import db

# Order matters: Edge and Opera and Samsung's browser also say "Chrome"; Chrome also says "Safari".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def device_summary(user_agent: str | None) -> str:
    """'Chrome on Android', or what little can be told ('Unknown browser')."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser is None and re.match(r"^[\w.-]+/[\d.]+", agent):  # a script or an app: its own name
        browser = agent.split("/", 1)[0][:30]
    return f"{browser or 'Unknown browser'}{f' on {system}' if system else ''}"


def network_of(ip: str | None) -> str | None:
    """The address's network: '203.0.113.0/24', '2001:db8:1::/48'; None for anything that is not an address."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def record(user: User, ip: str | None, user_agent: str | None) -> SignIn:
    entry = SignIn(user_id=user.id, network=network_of(ip), device=device_summary(user_agent)[:80])
    db.session.add(entry)
    return entry


def recent(user_id: int, limit: int = 20) -> list[SignIn]:
    return list(db.session.scalars(select(SignIn).where(SignIn.user_id == user_id)
                                   .order_by(SignIn.created_at.desc(), SignIn.id.desc()).limit(limit)))


def forget(user_id: int) -> None:
    db.session.execute(delete(SignIn).where(SignIn.user_id == user_id))


def prune() -> int:
    cutoff = utcnow() - current_app.config["KEEP"]["sign_ins"]
    return db.session.execute(delete(SignIn).where(SignIn.created_at < cutoff)).rowcount or 0
