"""Announcements by staff (a planned outage, service news), for everyone, one region or a list of connections, with a
start and an end: shown on the dashboard while current, and sent once (to the inbox, and by push/SMS as each
customer chose) when they start. Staff write them on /staff/announcements or with `flask announcements add`.

Staff of an office announce only to their own region or to their own office's connections; head office to anyone.
Until it is sent an announcement can be changed or called off; the send and a change or a cancellation exclude each
other (the row is locked, and the send claims it only while it is neither sent nor cancelled)."""

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, exists, func, or_, select, update

from app import audit
from app.accounts.models import Account, AccountLink
from app.accounts.offices import sees, visible_to
from app.auth.models import Role, User
from app.db import begin_write, utcnow
from app.extensions import db
from app.notifications.models import Announcement, AnnouncementTarget, NotificationKind
from app.notifications.services import already_sent, notify
from app.taskqueue import in_own_transaction

# Who may announce: an announcement reaches many customers at once, by push and SMS, in the utility's name, so it is a
# supervisor's act (billing officers and admins), as tariffs and bill runs are; support staff answer one customer at
# a time and see the list (to tell a caller about an outage) without writing to everyone.
ANNOUNCERS = frozenset({Role.BILLING, Role.ADMIN})
MAX_TITLE = 120
MAX_CONSUMERS = 1000  # a longer list is a region's worth: announce to the region
NAMED_AT_MOST = 10  # unknown numbers named in the message; the rest counted


class AnnouncementError(ValueError):
    """Why an announcement cannot be written or changed so (translated, for the person who tried), and which of
    what they wrote it is about (a form field's name), if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Draft:
    """What staff wrote: for everyone (no region, no numbers), a region, or a list of consumer numbers."""

    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    region: str | None = None
    consumer_numbers: tuple[str, ...] = ()


def split_consumer_numbers(text: str | None) -> tuple[str, ...]:
    """Numbers typed or pasted one a line, or separated by commas or spaces; upper-case, each once, in order."""
    return tuple(dict.fromkeys(n.upper() for n in re.split(r"[\s,;]+", text or "") if n))


def _unknown(numbers: list[str]) -> AnnouncementError:
    named = ", ".join(numbers[:NAMED_AT_MOST])
    more = len(numbers) - NAMED_AT_MOST
    if more > 0:
        named = _("%(numbers)s and %(count)d more", numbers=named, count=more)
    return AnnouncementError(ngettext("No connection has the consumer number %(numbers)s.",
                                      "No connection has these consumer numbers: %(numbers)s.",
                                      len(numbers), numbers=named), "consumer_numbers")


def _targets(numbers: tuple[str, ...], actor) -> list[Account]:
    """The connections with these numbers that `actor` may see; another office's number is as unknown as a typo."""
    if len(numbers) > MAX_CONSUMERS:
        raise AnnouncementError(_("At most %(count)d consumer numbers; for more, announce to the region.",
                                  count=MAX_CONSUMERS), "consumer_numbers")
    found = {a.consumer_number: a for a in db.session.scalars(
        select(Account).where(Account.consumer_number.in_(numbers), visible_to(actor)))}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise _unknown(missing)
    return [found[n] for n in numbers]


def _checked(draft: Draft, actor) -> tuple[str, str, str | None, list[Account]]:
    """The draft's title, body, region and connections, or the first reason it cannot be so."""
    title, body, region = draft.title.strip(), draft.body.strip(), (draft.region or "").strip() or None
    if getattr(actor, "role", None) not in ANNOUNCERS:
        raise AnnouncementError(_("Only billing officers and administrators write announcements."))
    if not title or not body:
        raise AnnouncementError(_("An announcement needs a title and a text."), "body")
    if len(title) > MAX_TITLE:
        raise AnnouncementError(_("The title must be at most %(count)d characters.", count=MAX_TITLE), "title")
    if draft.ends_at is not None and draft.ends_at <= utcnow():
        raise AnnouncementError(_("It would end before anyone sees it."), "ends_at")
    if draft.ends_at is not None and draft.ends_at <= draft.starts_at:
        raise AnnouncementError(_("It must end after it starts."), "ends_at")
    office = getattr(actor, "office", None)
    if draft.consumer_numbers:
        return title, body, None, _targets(draft.consumer_numbers, actor)
    if (region is None and office is not None) or (region is not None and not sees(actor, region)):
        raise AnnouncementError(_("Staff of an office announce to their own region or connections only."),
                                "audience")
    if region is not None and db.session.scalar(select(Account.id).where(Account.region == region).limit(1)) is None:
        raise AnnouncementError(_("No connection is in the region %(region)s.", region=region), "region")
    return title, body, region, []


def _state(announcement: Announcement, numbers: list[str]) -> dict:
    return {"title": announcement.title, "body": announcement.body,
            "audience": announcement.region or (f"{len(numbers)} connections" if numbers else "everyone"),
            "consumer_numbers": numbers, "starts_at": announcement.starts_at.isoformat(),
            "ends_at": announcement.ends_at.isoformat() if announcement.ends_at else None}


def consumer_numbers_of(announcement: Announcement) -> list[str]:
    return list(db.session.scalars(
        select(Account.consumer_number).join(AnnouncementTarget, AnnouncementTarget.account_id == Account.id)
        .where(AnnouncementTarget.announcement_id == announcement.id).order_by(Account.consumer_number)))


def _set_targets(announcement: Announcement, accounts: list[Account]) -> None:
    db.session.execute(AnnouncementTarget.__table__.delete()
                       .where(AnnouncementTarget.announcement_id == announcement.id))
    db.session.add_all(AnnouncementTarget(announcement_id=announcement.id, account_id=a.id) for a in accounts)
    db.session.flush()


def write_announcement(draft: Draft, actor) -> Announcement:
    title, body, region, accounts = _checked(draft, actor)
    announcement = Announcement(title=title, body=body, region=region, starts_at=draft.starts_at,
                                ends_at=draft.ends_at, created_by_id=getattr(actor, "id", None))
    db.session.add(announcement)
    db.session.flush()
    _set_targets(announcement, accounts)
    audit.record("announcement.added", announcement,
                 {"before": None, "after": _state(announcement, [a.consumer_number for a in accounts])}, actor=actor)
    return announcement


def add_announcement(title: str, body: str, region: str | None, starts_at: datetime, ends_at: datetime | None,
                     actor) -> Announcement:
    """The command line's way in: for everyone or a region."""
    return write_announcement(Draft(title, body, starts_at, ends_at, region), actor)


def _changeable(announcement_id: int, actor) -> Announcement:
    """The announcement, locked, if `actor` may still change it; LookupError if they may not see it at all."""
    announcement = db.session.scalar(select(Announcement).where(Announcement.id == announcement_id)
                                     .with_for_update().execution_options(populate_existing=True))  # re-read
    if announcement is None or not visible(actor, announcement):
        raise LookupError(announcement_id)
    if announcement.sent_at is not None:
        raise AnnouncementError(_("It was sent already: it can no longer be changed or called off."))
    if announcement.cancelled_at is not None:
        raise AnnouncementError(_("It was called off already."))
    if not may_change(actor, announcement):
        raise AnnouncementError(_("Only head office can change an announcement for other offices' customers."))
    return announcement


def change_announcement(announcement_id: int, draft: Draft, actor) -> Announcement:
    announcement = _changeable(announcement_id, actor)
    before = _state(announcement, consumer_numbers_of(announcement))
    title, body, region, accounts = _checked(draft, actor)
    announcement.title, announcement.body, announcement.region = title, body, region
    announcement.starts_at, announcement.ends_at = draft.starts_at, draft.ends_at
    _set_targets(announcement, accounts)
    audit.record("announcement.changed", announcement,
                 {"before": before, "after": _state(announcement, [a.consumer_number for a in accounts])},
                 actor=actor)
    return announcement


def cancel_announcement(announcement_id: int, actor) -> Announcement:
    announcement = _changeable(announcement_id, actor)
    announcement.cancelled_at = utcnow()
    db.session.flush()
    audit.record("announcement.cancelled", announcement,
                 {"before": _state(announcement, consumer_numbers_of(announcement)), "after": "cancelled"},
                 actor=actor)
    return announcement


# Who an announcement is for ---------------------------------------------------------------------------------------

def _has_targets():
    return exists().where(AnnouncementTarget.announcement_id == Announcement.id)


def _for_everyone():
    return and_(Announcement.region.is_(None), ~_has_targets())


def _concerns_office(office: str):
    """Everyone's, the region's, or one naming a connection of the region."""
    return or_(_for_everyone(), Announcement.region == office, exists().where(
        AnnouncementTarget.announcement_id == Announcement.id, AnnouncementTarget.account_id == Account.id,
        Account.region == office))


def visible(staff, announcement: Announcement) -> bool:
    """Whether `staff` may see it: head office all, an office those that concern its customers."""
    return staff.office is None or db.session.scalar(
        select(func.count(Announcement.id)).where(Announcement.id == announcement.id,
                                                  _concerns_office(staff.office))) == 1


def may_change(staff, announcement: Announcement) -> bool:
    """Whether `staff` could have written it: head office any; an office its region's, or a list of its own
    connections only (not everyone's, nor a list with another office's connections)."""
    if staff.office is None:
        return True
    if announcement.region is not None:
        return announcement.region == staff.office
    regions = set(db.session.scalars(
        select(Account.region).join(AnnouncementTarget, AnnouncementTarget.account_id == Account.id)
        .where(AnnouncementTarget.announcement_id == announcement.id)))
    return regions == {staff.office}


def target_counts(ids: list[int]) -> dict[int, int]:
    """How many connections each of these announcements names (none: for everyone or a region)."""
    return dict(db.session.execute(
        select(AnnouncementTarget.announcement_id, func.count()).where(AnnouncementTarget.announcement_id.in_(ids))
        .group_by(AnnouncementTarget.announcement_id)).all())


@dataclass
class Listing:
    scheduled: list[Announcement]
    current: list[Announcement]
    ended: list[Announcement]  # over, or called off: the latest


def staff_listing(staff, ended_limit: int = 50) -> Listing:
    now = utcnow()
    seen = select(Announcement) if staff.office is None \
        else select(Announcement).where(_concerns_office(staff.office))
    live = Announcement.cancelled_at.is_(None)
    over = or_(Announcement.cancelled_at.is_not(None), and_(Announcement.ends_at.is_not(None),
                                                            Announcement.ends_at <= now))
    return Listing(
        scheduled=list(db.session.scalars(seen.where(live, Announcement.starts_at > now)
                                          .order_by(Announcement.starts_at, Announcement.id))),
        current=list(db.session.scalars(seen.where(live, _current(now))
                                        .order_by(Announcement.starts_at.desc(), Announcement.id.desc()))),
        ended=list(db.session.scalars(seen.where(over).order_by(Announcement.starts_at.desc(),
                                                                Announcement.id.desc()).limit(ended_limit))))


def _current(now: datetime):
    return (Announcement.starts_at <= now) & or_(Announcement.ends_at.is_(None), Announcement.ends_at > now) \
        & Announcement.cancelled_at.is_(None)


def current_announcements(account: Account) -> list[Announcement]:
    """What the dashboard of `account` shows now: for everyone, for its region or naming it; newest first."""
    now = utcnow()
    names_it = exists().where(AnnouncementTarget.announcement_id == Announcement.id,
                              AnnouncementTarget.account_id == account.id)
    return list(db.session.scalars(
        select(Announcement).where(_current(now), or_(_for_everyone(), Announcement.region == account.region,
                                                      names_it))
        .order_by(Announcement.starts_at.desc(), Announcement.id.desc()).limit(3)))


def audience(announcement: Announcement) -> list[User]:
    """The customers it concerns: everyone, those linked to a connection in its region, or to one it names."""
    query = select(User).where(User.role == Role.CUSTOMER, User.active.is_(True), User.erased_at.is_(None))
    if announcement.region is not None:
        query = query.where(User.id.in_(select(AccountLink.user_id).join(Account, Account.id == AccountLink.account_id)
                                        .where(Account.region == announcement.region)))
    elif db.session.scalar(select(AnnouncementTarget.account_id)
                           .where(AnnouncementTarget.announcement_id == announcement.id).limit(1)) is not None:
        query = query.where(User.id.in_(
            select(AccountLink.user_id).join(AnnouncementTarget,
                                             AnnouncementTarget.account_id == AccountLink.account_id)
            .where(AnnouncementTarget.announcement_id == announcement.id)))
    return list(db.session.scalars(query.order_by(User.id)))


def send_announcements() -> int:
    """Send each current announcement not sent yet, once: it is claimed by setting sent_at (a run beside this one
    finds it claimed, a change or a cancellation finds it sent), in the same transaction as its notifications."""
    due = in_own_transaction(lambda: list(db.session.scalars(
        select(Announcement.id).where(_current(utcnow()), Announcement.sent_at.is_(None)))))
    return sum(in_own_transaction(_send_one, announcement_id) for announcement_id in due)


def _send_one(announcement_id: int) -> int:
    begin_write(db.session)
    claimed = db.session.execute(update(Announcement).where(Announcement.id == announcement_id,
                                                            Announcement.sent_at.is_(None), _current(utcnow()))
                                 .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return 0
    announcement = db.session.get(Announcement, announcement_id)
    users = audience(announcement)
    keys = {user.id: f"announcement:{announcement.id}:{user.id}" for user in users}
    sent = already_sent(list(keys.values()))
    return sum(notify(user, NotificationKind.ANNOUNCEMENT, announcement.title, announcement.body, "/",
                      dedupe_key=keys[user.id]) is not None for user in users if keys[user.id] not in sent)
