"""The audit log: services call record() next to the write they audit, in the same transaction."""

from datetime import datetime

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import update

from app.audit.models import AuditLog
from app.extensions import db


def record(action: str, obj, details: dict | None = None, actor=None) -> AuditLog:
    """Add an audit row for `obj` (a model instance with an id), with who did it and from where (the client's
    address, behind the configured proxies; none from the command line). Never put secrets in details."""
    in_request = has_request_context()
    if actor is None and in_request and current_user.is_authenticated:
        actor = current_user
    entry = AuditLog(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.id),
        details=details or {},
        ip=request.remote_addr if in_request else None,
    )
    db.session.add(entry)
    return entry


def forget_addresses(older_than: datetime | None = None, actor_id: int | None = None) -> int:
    """Blank the network address of audit rows written before `older_than`, or of everything `actor_id` did (an
    erased customer). What was done, by whom and when stays: only where from goes, as personal data kept no
    longer than configured (KEEP["audit_addresses"])."""
    query = update(AuditLog).where(AuditLog.ip.is_not(None))
    if older_than is not None:
        query = query.where(AuditLog.created_at < older_than)
    if actor_id is not None:
        query = query.where(AuditLog.actor_id == actor_id)
    return db.session.execute(query.values(ip=None)).rowcount
