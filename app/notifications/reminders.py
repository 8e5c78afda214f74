"""What is sent about bills: "your bill is ready" when it is issued, and due-date reminders 3 days before, on the
due date and 1 day after it, each exactly once per bill, stage and person (the notification's unique dedupe key),
and none once the bill is paid.

`send_due_reminders()` runs every 15 minutes (and `flask notifications remind`): it looks at the bills whose due
date is near, so a run missed (the queue was down) is made up by the next one, and any number of runs, at once or
one after another, write each reminder once.
"""

from collections import defaultdict
from datetime import date, timedelta

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.accounts.models import Account, AccountLink
from app.auth.models import User
from app.billing import ledger
from app.billing.models import Bill
from app.db import begin_write, today_in_india
from app.extensions import db
from app.i18n import N_, month_label
from app.messaging.kinds import MessageKind, sms_amount, sms_date
from app.notifications.models import NotificationKind
from app.notifications.services import Sms, already_sent, day, money, notify
from app.taskqueue import in_own_transaction

# (stage, first and last day of it, counted from the due date). A stage missed on its first day (the app was down)
# is still sent on its later days; a stage whose days have passed is never sent late.
STAGES = (("before", -3, -1), ("due", 0, 0), ("after", 1, 3))
CHUNK = 100  # bills per transaction: short transactions, so two runs at once wait on each other briefly


def reminder_stage(due_date: date, today: date) -> str | None:
    for stage, first, last in STAGES:
        if due_date + timedelta(days=first) <= today <= due_date + timedelta(days=last):
            return stage
    return None


def linked_users(account_ids) -> dict[int, list[User]]:
    """The people linked to each connection (they are the ones told about its bills)."""
    users: dict[int, list[User]] = defaultdict(list)
    rows = db.session.execute(select(AccountLink.account_id, User).join(User, User.id == AccountLink.user_id)
                              .where(AccountLink.account_id.in_(list(account_ids)), User.active.is_(True),
                                     User.erased_at.is_(None))
                              .order_by(AccountLink.account_id, User.id))
    for account_id, user in rows:
        users[account_id].append(user)
    return users


def last_digits(account: Account) -> str:
    return account.consumer_number[-4:]


# --- bill issued -------------------------------------------------------------------------------------------------

def notify_bills_issued(bill_ids: list[int]) -> int:
    """Tell everyone linked to these bills' connections that the bill is ready; paperless connections first (they
    get no paper bill, so this is the only way they learn of it). A bill already past its due date when issued
    (an old cycle billed late, the demo's history) is not news: nobody is told of it."""
    rows = db.session.execute(select(Bill, Account).join(Account, Account.id == Bill.account_id)
                              .where(Bill.id.in_(bill_ids), Bill.due_date >= today_in_india())
                              .order_by(Account.paperless.desc(), Bill.id)).all()
    users = linked_users({account.id for _bill, account in rows})
    written = 0
    for bill, account in rows:
        for user in users.get(account.id, []):
            written += notify(
                user, NotificationKind.BILL_ISSUED,
                _l("Your bill for %(month)s is ready", month=_lazy_month(bill.period_end)),
                _l("%(amount)s for connection ending %(digits)s, due on %(date)s. See it and pay in the app.",
                   amount=money(bill.total_due), digits=last_digits(account), date=day(bill.due_date)),
                f"/bills/{bill.id}", account=account, dedupe_key=f"bill:{bill.id}:{user.id}",
                sms=bill_sms(MessageKind.BILL_ISSUED, account, bill.total_due, bill.due_date),
            ) is not None
    return written


def bill_sms(kind: MessageKind, account: Account, amount, due: date) -> Sms:
    return Sms(kind, {"number": account.consumer_number, "amount": sms_amount(amount), "due": sms_date(due)})


def _lazy_month(value: date) -> LazyString:
    return LazyString(lambda: month_label(value))


# --- due-date reminders ------------------------------------------------------------------------------------------

# Texts per stage, translated when each is written (in its recipient's language).
REMINDER_TEXTS = {
    "before": (N_("Bill due on %(date)s"),
               N_("%(amount)s is due on %(date)s for connection ending %(digits)s. Pay in the app to avoid a late "
                  "fee.")),
    "due": (N_("Your bill is due today"),
            N_("%(amount)s is due today for connection ending %(digits)s. Pay in the app to avoid a late fee.")),
    "after": (N_("Your bill is overdue"),
              N_("%(amount)s was due on %(date)s for connection ending %(digits)s. Please pay in the app soon.")),
}


def bills_to_remind(today: date) -> list[int]:
    """The ids of each connection's latest bill in force whose due date is within the reminders' days of `today`."""
    first, last = today - timedelta(days=STAGES[-1][2]), today - timedelta(days=STAGES[0][1])
    candidates = db.session.execute(
        select(Bill.id, Bill.account_id, Bill.period_start)
        .where(Bill.due_date >= first, Bill.due_date <= last, ledger.in_force()).order_by(Bill.id)).all()
    if not candidates:
        return []
    # Their connections as a subquery, not a list of ids: at a million connections the week's bills are hundreds of
    # thousands, more parameters than a PostgreSQL statement takes (65,535).
    due = aliased(Bill)
    accounts = select(due.account_id).where(due.due_date >= first, due.due_date <= last)
    latest = dict(db.session.execute(
        select(Bill.account_id, func.max(Bill.period_start))
        .where(Bill.account_id.in_(accounts), ledger.in_force())
        .group_by(Bill.account_id)).all())
    return [row.id for row in candidates if latest.get(row.account_id) == row.period_start]


def send_due_reminders(today: date | None = None) -> int:
    """Write every reminder due today that was not written yet. Returns how many were written."""
    today = today or today_in_india()
    bill_ids = in_own_transaction(bills_to_remind, today)
    written = 0
    for start in range(0, len(bill_ids), CHUNK):
        written += in_own_transaction(_remind_chunk, bill_ids[start:start + CHUNK], today)
    return written


def _remind_chunk(bill_ids: list[int], today: date) -> int:
    begin_write(db.session)
    rows = db.session.execute(select(Bill, Account).join(Account, Account.id == Bill.account_id)
                              .where(Bill.id.in_(bill_ids)).order_by(Bill.id)).all()
    balances = ledger.balances({account.id for _bill, account in rows})
    users = linked_users(balances)
    planned = []
    for bill, account in rows:
        stage = reminder_stage(bill.due_date, today)
        if stage is None or balances[account.id] <= 0:  # paid (or in credit): nothing to remind of
            continue
        planned += [(bill, account, stage, user, f"reminder:{bill.id}:{stage}:{user.id}")
                    for user in users.get(account.id, [])]
    sent = already_sent([key for *_rest, key in planned])
    written = 0
    for bill, account, stage, user, key in planned:
        if key in sent:
            continue
        title, body = REMINDER_TEXTS[stage]
        values = {"amount": money(balances[account.id]), "date": day(bill.due_date), "digits": last_digits(account)}
        written += notify(user, NotificationKind.DUE_REMINDER, _l(title, **values), _l(body, **values),
                          f"/bills/{bill.id}", account=account, dedupe_key=key,
                          urgency="high" if stage == "due" else "normal",
                          sms=bill_sms(MessageKind.OVERDUE_REMINDER if stage == "after" else MessageKind.DUE_REMINDER,
                                       account, balances[account.id], bill.due_date),
                          ) is not None
    return written

