"""Announcements by staff (a planned outage, service news), for everyone or one region, with a start and an end: shown
on the dashboard while current, and sent once (to the inbox, and by push/SMS as each customer chose) when they
start. Staff write them with `flask announcements add` (a staff page comes later)."""

from datetime import datetime

from sqlalchemy import or_, select, update

from app import audit
from app.accounts.models import Account, AccountLink
from app.auth.models import Role, User
from app.db import begin_write, utcnow
from app.extensions import db
from app.notifications.models import Announcement, NotificationKind
from app.notifications.services import already_sent, notify
from app.taskqueue import in_own_transaction


class AnnouncementError(ValueError):
    pass


def add_announcement(title: str, body: str, region: str | None, starts_at: datetime, ends_at: datetime | None,
                     actor) -> Announcement:
    title, body, region = title.strip(), body.strip(), (region or "").strip() or None
    if not title or not body:
        raise AnnouncementError("an announcement needs a title and a text")
    if len(title) > 120:
        raise AnnouncementError("the title must be at most 120 characters")
    if ends_at is not None and ends_at <= utcnow():
        raise AnnouncementError("it would end before anyone sees it")
    if ends_at is not None and ends_at <= starts_at:
        raise AnnouncementError("it must end after it starts")
    if region is not None and db.session.scalar(select(Account.id).where(Account.region == region).limit(1)) is None:
        raise AnnouncementError(f"no connection is in the region {region!r}")
    announcement = Announcement(title=title, body=body, region=region, starts_at=starts_at, ends_at=ends_at,
                                created_by_id=getattr(actor, "id", None))
    db.session.add(announcement)
    db.session.flush()
    audit.record("announcement.added", announcement, {"title": title, "region": region or "everyone"}, actor=actor)
    return announcement


def _current(now: datetime):
    return (Announcement.starts_at <= now) & or_(Announcement.ends_at.is_(None), Announcement.ends_at > now)


def current_announcements(region: str | None) -> list[Announcement]:
    """What the dashboard of a connection in `region` shows now: for everyone or for its region, newest first."""
    now = utcnow()
    return list(db.session.scalars(
        select(Announcement).where(_current(now), or_(Announcement.region.is_(None), Announcement.region == region))
        .order_by(Announcement.starts_at.desc(), Announcement.id.desc()).limit(3)))


def audience(announcement: Announcement) -> list[User]:
    """The customers it concerns: everyone, or those linked to a connection in its region."""
    query = select(User).where(User.role == Role.CUSTOMER, User.active.is_(True), User.erased_at.is_(None))
    if announcement.region is not None:
        query = query.where(User.id.in_(select(AccountLink.user_id).join(Account, Account.id == AccountLink.account_id)
                                        .where(Account.region == announcement.region)))
    return list(db.session.scalars(query.order_by(User.id)))


def send_announcements() -> int:
    """Send each current announcement not sent yet, once: it is claimed by setting sent_at (a run beside this one
    finds it claimed), in the same transaction as its notifications."""
    due = in_own_transaction(lambda: list(db.session.scalars(
        select(Announcement.id).where(_current(utcnow()), Announcement.sent_at.is_(None)))))
    return sum(in_own_transaction(_send_one, announcement_id) for announcement_id in due)


def _send_one(announcement_id: int) -> int:
    begin_write(db.session)
    claimed = db.session.execute(update(Announcement).where(Announcement.id == announcement_id,
                                                            Announcement.sent_at.is_(None))
                                 .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return 0
    announcement = db.session.get(Announcement, announcement_id)
    users = audience(announcement)
    keys = {user.id: f"announcement:{announcement.id}:{user.id}" for user in users}
    sent = already_sent(list(keys.values()))
    return sum(notify(user, NotificationKind.ANNOUNCEMENT, announcement.title, announcement.body, "/",
                      dedupe_key=keys[user.id]) is not None for user in users if keys[user.id] not in sent)
