"""Reconciliation by hand: what staff see and do on the reconciliation page.

- Attempts pending too long: ask the gateway now (reconcile.ask_now), or mark them failed.
- Held payments (the amount differed): accepted or refunded on the payment's own page (counter, refunds).
- Webhooks that matched no order: matched to a payment by a person, or dismissed with a reason; once each.
- Settlement files (a bank's or aggregator's CSV: date, UTR or gateway id, amount): every line checked first
  (a bad line refuses the whole file, naming the line and why: nothing is half-saved), then matched against our
  payments and kept with the outcome of each line, so the report can be opened again. The same file uploaded
  again is the same report (its content hash is unique).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select, update

from app import audit
from app.accounts.models import Account
from app.accounts.offices import can_see, visible_to
from app.db import INDIA, insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.payments.base import PAYMENT_EVENTS, PaymentError, _locked, lock_payment
from app.payments.capture import _fail, apply_gateway_payment
from app.payments.gateways import GatewayUnavailable, get_gateway
from app.payments.models import (
    DIGITAL_METHODS,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    SettlementFile,
    SettlementLine,
    SettlementOutcome,
)
from app.payments.reconcile import ask_now

MAX_BYTES = 4 * 1024 * 1024
MAX_LINES = 20000
MAX_PROBLEMS = 200  # shown; the count says how many there were in all
LIST_LIMIT = 100
STAFF_MATCH = "staff match"
_CHUNK = 500

# Header names as banks and aggregators write them (lowercase, runs of anything else as one underscore).
DATE_COLUMNS = ("date", "settlement_date", "settled_on", "settled_at", "value_date", "transaction_date", "txn_date",
                "payment_date", "created_at", "tran_date")
REFERENCE_COLUMNS = ("utr", "utr_no", "utr_number", "bank_utr", "rrn", "bank_reference", "bank_ref_no",
                     "gateway_id", "gateway_payment_id", "payment_id", "transaction_id", "txn_id", "order_id",
                     "entity_id", "reference", "reference_no", "ref_no", "id")
AMOUNT_COLUMNS = ("amount", "amount_inr", "amount_rs", "settled_amount", "settlement_amount", "txn_amount",
                  "transaction_amount", "credit", "credit_amount", "gross_amount")
_CURRENCY = re.compile(r"^(₹|rs\.?|inr)\s*", re.IGNORECASE)
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T].*)?$")


class SettlementRefused(ValueError):
    """The file cannot be taken: why, and for a file with bad lines, each line's number and what is wrong."""

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None, count: int = 0):
        super().__init__(message)
        self.problems = problems or []
        self.count = count or len(self.problems)


@dataclass(frozen=True)
class SettlementRow:
    line: int
    settled_on: date
    references: tuple[str, ...]  # the UTR and/or gateway ids of the line, in the order of REFERENCE_COLUMNS
    amount: Decimal

    @property
    def reference(self) -> str:
        return self.references[0]


# --- attempts pending too long, held payments ---


def overdue_attempts(staff, older_than_minutes: int, limit: int = LIST_LIMIT) -> list[tuple[Payment, Account]]:
    """Digital attempts still created or pending after the window (the reconcile task's), oldest first."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    return list(db.session.execute(
        select(Payment, Account).join(Account, Account.id == Payment.account_id)
        .where(Payment.state.in_([PaymentState.CREATED, PaymentState.PENDING]),
               Payment.method.in_(DIGITAL_METHODS), Payment.created_at < cutoff, visible_to(staff))
        .order_by(Payment.created_at, Payment.id).limit(limit)).tuples())


def held_payments(staff, limit: int = LIST_LIMIT) -> list[tuple[Payment, Account]]:
    return list(db.session.execute(
        select(Payment, Account).join(Account, Account.id == Payment.account_id)
        .where(Payment.state == PaymentState.HELD, visible_to(staff))
        .order_by(Payment.created_at, Payment.id).limit(limit)).tuples())


def ask_gateway(payment_id: int, staff) -> tuple[PaymentState, PaymentState]:
    """Ask the gateway about one waiting attempt now, as reconcile would: its state before and after. GatewayError
    (or GatewayUnavailable) when the gateway cannot be asked."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or not can_see(staff, db.session.get(Account, payment.account_id)):
        raise PaymentError.refused("no_payment")
    if payment.state not in (PaymentState.CREATED, PaymentState.PENDING) or payment.method not in DIGITAL_METHODS:
        raise PaymentError.refused("ask_state")
    if payment.gateway != get_gateway().name:
        raise PaymentError.refused("ask_other_gateway")
    before, after = ask_now(payment.id)
    audit.record("payment.asked_gateway", payment, {"before": before.value, "after": after.value}, actor=staff)
    return before, after


def mark_failed(payment_id: int, reason: str, staff, older_than_minutes: int) -> Payment:
    """A person gives up on an attempt the gateway knows nothing of (a later capture still credits it: the state
    machine lets a failed payment be captured)."""
    payment = lock_payment(payment_id)
    if payment is None or not can_see(staff, db.session.get(Account, payment.account_id)):
        raise PaymentError.refused("no_payment")
    if payment.state not in (PaymentState.CREATED, PaymentState.PENDING) or payment.method not in DIGITAL_METHODS:
        raise PaymentError.refused("fail_state")
    if payment.created_at >= utcnow() - timedelta(minutes=older_than_minutes):
        raise PaymentError.refused("fail_recent")
    _fail(payment, f"marked failed by staff: {reason}", "staff", actor=staff)
    return payment


# --- webhooks that matched no order ---


# Webhooks still waiting for their order, and those processed only as far as "review: …", not settled by a person.
_UNSETTLED = and_(PaymentEvent.resolved_at.is_(None),
                  or_(PaymentEvent.processed_at.is_(None), PaymentEvent.outcome.like("review:%")))


def unmatched_events(limit: int = LIST_LIMIT) -> list[PaymentEvent]:
    return list(db.session.scalars(
        select(PaymentEvent).where(_UNSETTLED)
        .order_by(PaymentEvent.received_at, PaymentEvent.id).limit(limit)))


def event_reference(event: PaymentEvent) -> str:
    """What the webhook names (its gateway payment, order, refund), read from the payload as received."""
    try:
        parsed = get_gateway().parse_webhook(event.payload.encode())
    except (ValueError, GatewayUnavailable):
        return "—"
    if parsed.payment is not None:
        return " · ".join(part for part in (parsed.payment.id, parsed.payment.order_id) if part)
    if parsed.refund is not None:
        return parsed.refund.id
    return "—"


def _settle_event(event_id: int, staff, note: str, outcome: str, payment_id: int | None = None) -> bool:
    """Mark the webhook settled by `staff`, once (a conditional update: of two clicks, one wins; one that reconcile
    matched meanwhile is left as it is)."""
    now = utcnow()
    done = db.session.execute(
        update(PaymentEvent).where(PaymentEvent.id == event_id, _UNSETTLED)
        .values(resolved_at=now, resolved_by_id=staff.id, resolution_note=note[:200], outcome=outcome[:60],
                processed_at=func.coalesce(PaymentEvent.processed_at, now),
                payment_id=func.coalesce(payment_id, PaymentEvent.payment_id))
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


def dismiss_event(event_id: int, reason: str, staff) -> PaymentEvent:
    event = db.session.get(PaymentEvent, event_id)
    if event is None:
        raise PaymentError.refused("no_webhook")
    before = event.outcome
    if not _settle_event(event_id, staff, reason, "dismissed by staff"):
        raise PaymentError.refused("webhook_settled")
    audit.record("payment_event.dismissed", event, {"reason": reason[:200], "before": before,
                                                    "after": "dismissed by staff"}, actor=staff)
    return event


def match_event(event_id: int, payment_reference: str, staff) -> tuple[PaymentEvent, Payment, str]:
    """Apply a waiting payment webhook to the payment a person names (by our reference or receipt number): what
    the gateway says about its payment then moves ours, exactly as if the webhook had matched by itself."""
    event = _locked(PaymentEvent, PaymentEvent.id == event_id)  # reconcile's rematch (or a second click) waits
    if event is None or event.resolved_at is not None or event.processed_at is not None:
        raise PaymentError.refused("webhook_settled")
    try:
        parsed = get_gateway().parse_webhook(event.payload.encode())
    except ValueError:
        parsed = None
    if parsed is None or parsed.type not in PAYMENT_EVENTS or parsed.payment is None:
        raise PaymentError.refused("match_not_payment")
    reference = payment_reference.strip().upper()
    found = db.session.scalar(select(Payment.id).where(or_(Payment.reference == reference,
                                                           Payment.receipt_number == reference)))
    payment = lock_payment(found) if found else None
    if payment is None or not can_see(staff, db.session.get(Account, payment.account_id)):
        raise PaymentError.refused("match_no_payment", reference=reference or "—")
    if payment.method not in DIGITAL_METHODS:
        raise PaymentError.refused("match_not_online", reference=payment.reference)
    gp = parsed.payment
    if gp.order_id and payment.gateway_order_id is None:
        taken = db.session.scalar(select(Payment.reference).where(Payment.gateway_order_id == gp.order_id))
        if taken:
            raise PaymentError.refused("match_order_taken", reference=taken)
        payment.gateway_order_id = gp.order_id  # our order call timed out after the gateway had made the order
    before = payment.state.value
    outcome = apply_gateway_payment(payment, gp, STAFF_MATCH)
    if outcome.startswith(("ignored", "review")):
        raise PaymentError.refused("match_misfit", reference=payment.reference, why=outcome)
    if not _settle_event(event_id, staff, f"matched to {payment.reference}", f"matched by staff: {outcome}",
                         payment.id):
        raise PaymentError.refused("webhook_settled")
    audit.record("payment_event.matched", event, {"payment": payment.reference, "before": before,
                                                  "after": payment.state.value, "outcome": outcome}, actor=staff)
    return event, payment, outcome


# --- settlement files ---


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> str:
    if not data.strip():
        raise SettlementRefused(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise SettlementRefused(_("The file is larger than %(mb)s MB: split it by day.",
                                  mb=MAX_BYTES // (1024 * 1024)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SettlementRefused(_("This is not a CSV file (text with commas): save the statement as CSV.")) from None
    if "\x00" in text:
        raise SettlementRefused(_("This is not a CSV file (text with commas): save the statement as CSV."))
    return text


def _column_name(name: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_")


def _columns(header: list[str]) -> tuple[int, list[int], int]:
    """Positions of the date, the reference columns (UTR and/or gateway id) and the amount."""
    names = [_column_name(name) for name in header]

    def first(options):
        return next((names.index(option) for option in options if option in names), None)

    day, amount = first(DATE_COLUMNS), first(AMOUNT_COLUMNS)
    references = [names.index(option) for option in REFERENCE_COLUMNS if option in names]
    missing = [label for label, found in ((_("date"), day), (_("UTR or gateway id"), references or None),
                                          (_("amount"), amount)) if found is None]
    if missing:
        raise SettlementRefused(_("The first line must name the columns date, UTR (or gateway id) and amount; "
                                  "missing: %(names)s.", names=", ".join(missing)))
    return day, references, amount


def parse_day(text: str) -> date:
    """05/11/2026, 05-11-2026, 05.11.2026 (day first, as in India, perhaps with a time), or 2026-11-05."""
    text = text.strip()
    matched = _DAY_FIRST.match(text)
    try:
        if matched:
            day, month, year = (int(part) for part in matched.groups())
            return date(year, month, day)
        moment = datetime.fromisoformat(text)
        return moment.astimezone(INDIA).date() if moment.tzinfo else moment.date()
    except ValueError:
        raise ValueError(_("%(text)s is not a date (05/11/2026 or 2026-11-05).", text=text or "—")) from None


def parse_amount(text: str) -> Decimal:
    """1,23,456.50 or ₹1,234 or Rs. 1234.5: rupees and paise, above zero."""
    cleaned = _CURRENCY.sub("", text.strip()).replace(",", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ValueError(_("%(text)s is not an amount in rupees (like 1,234.50).", text=text.strip() or "—"))
    if amount <= 0:
        raise ValueError(_("%(text)s is not above zero (refunds and charges are not reconciled here).",
                           text=text.strip()))
    return amount.quantize(Decimal("0.01"))


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def parse_file(text: str) -> list[SettlementRow]:
    """Every line checked; SettlementRefused naming each bad line (and why) if any is bad."""
    try:
        records = list(csv.reader(io.StringIO(text), _dialect(text)))
    except csv.Error as error:
        raise SettlementRefused(_("This is not a CSV file (text with commas): %(error)s", error=str(error))) from None
    if not records:
        raise SettlementRefused(_("The file is empty."))
    day_at, reference_at, amount_at = _columns(records[0])
    rows, problems, seen = [], [], {}
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines (a trailing one, or between blocks) say nothing
        try:
            row = _row(line, record, day_at, reference_at, amount_at)
        except ValueError as problem:
            problems.append((line, str(problem)))
            continue
        repeated = next((seen[ref] for ref in row.references if ref in seen), None)
        if repeated:
            problems.append((line, _("The same UTR or gateway id as line %(line)s.", line=repeated)))
            continue
        seen.update(dict.fromkeys(row.references, line))
        rows.append(row)
    if problems:
        raise SettlementRefused(_bad_lines(len(problems)), problems[:MAX_PROBLEMS], len(problems))
    if not rows:
        raise SettlementRefused(_("The file has no payments in it (only the line of column names)."))
    if len(rows) > MAX_LINES:
        raise SettlementRefused(_("The file has more than %(count)s lines: split it by day.", count=MAX_LINES))
    return rows


def _bad_lines(count: int) -> str:
    return ngettext("Nothing was saved: %(num)d line has a problem. Correct it and upload the file again.",
                    "Nothing was saved: %(num)d lines have problems. Correct them and upload the file again.", count)


def _cell(record: list[str], at: int) -> str:
    return record[at].strip() if at < len(record) else ""


def _row(line: int, record: list[str], day_at: int, reference_at: list[int], amount_at: int) -> SettlementRow:
    settled_on = parse_day(_cell(record, day_at))
    if settled_on > today_in_india():
        raise ValueError(_("%(day)s is in the future.", day=settled_on.isoformat()))
    references = tuple(dict.fromkeys(ref for at in reference_at if (ref := _cell(record, at).lstrip("'"))))
    if not references:
        raise ValueError(_("There is no UTR or gateway id."))
    if any(len(ref) > 64 for ref in references):
        raise ValueError(_("The UTR or gateway id is longer than 64 characters."))
    return SettlementRow(line, settled_on, references, parse_amount(_cell(record, amount_at)))


def _payments_by_reference(references: set[str]) -> dict[str, Payment]:
    """Our online payments that any of `references` names: a UPI payment's UTR, a gateway payment or order id,
    or our own reference."""
    found: dict[str, Payment] = {}
    ordered = sorted(references)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        payments = db.session.scalars(select(Payment).where(Payment.method.in_(DIGITAL_METHODS), or_(
            and_(Payment.method == PaymentMethod.UPI, Payment.instrument_number.in_(chunk)),
            Payment.gateway_payment_id.in_(chunk), Payment.gateway_order_id.in_(chunk),
            Payment.reference.in_(chunk))))
        for payment in payments:
            for key in (payment.instrument_number, payment.gateway_payment_id, payment.gateway_order_id,
                        payment.reference):
                if key in references:
                    found[key] = payment
    return found


SETTLED_STATES = (PaymentState.CAPTURED, PaymentState.REFUNDED)


def _outcome(row: SettlementRow, payment: Payment | None) -> SettlementOutcome:
    if payment is None:
        return SettlementOutcome.NOT_OURS
    if payment.state not in SETTLED_STATES:
        return SettlementOutcome.NOT_CAPTURED
    if payment.credited_amount != row.amount:
        return SettlementOutcome.AMOUNT_DIFFERS
    return SettlementOutcome.MATCHED


def _india_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=INDIA)


def _missing_payments(first_day: date, last_day: date, matched_ids: set[int]) -> list[Payment]:
    """Our captured online payments of the file's days (in India) that no line of the file names."""
    payments = db.session.scalars(
        select(Payment).where(Payment.method.in_(DIGITAL_METHODS), Payment.state.in_(SETTLED_STATES),
                              Payment.captured_at >= _india_start(first_day),
                              Payment.captured_at < _india_start(last_day + timedelta(days=1)))
        .order_by(Payment.captured_at, Payment.id))
    return [payment for payment in payments if payment.id not in matched_ids]


def _match(rows: list[SettlementRow]) -> list[tuple[SettlementRow, Payment | None]]:
    """Each line with the payment of ours it names; SettlementRefused when two lines name one payment."""
    payments = _payments_by_reference({ref for row in rows for ref in row.references})
    matches, first_line = [], {}
    for row in rows:
        payment = next((payments[ref] for ref in row.references if ref in payments), None)
        if payment is not None and payment.id in first_line:
            raise SettlementRefused(_bad_lines(1), [(row.line, _("Line %(line)s names the same payment.",
                                                                 line=first_line[payment.id]))])
        if payment is not None:
            first_line[payment.id] = row.line
        matches.append((row, payment))
    return matches


def store_settlement(filename: str, data: bytes, staff) -> tuple[SettlementFile, bool]:
    """Check, match and keep a settlement file: (its report, True), or (the report of the same file uploaded
    before, False). SettlementRefused when it cannot be taken: then nothing is written."""
    rows = parse_file(decode(data))
    matches = _match(rows)
    digest = content_hash(data)
    first_day, last_day = min(row.settled_on for row in rows), max(row.settled_on for row in rows)
    new_id = db.session.scalar(insert_ignore(db.session, SettlementFile.__table__, ["content_hash"]).values(
        filename=(filename or "settlement.csv")[:200], content_hash=digest, first_day=first_day, last_day=last_day,
        line_count=len(rows), uploaded_by_id=staff.id, created_at=utcnow()).returning(SettlementFile.id))
    if new_id is None:  # the same bytes were uploaded before (perhaps a moment ago, by someone else)
        return db.session.scalar(select(SettlementFile).where(SettlementFile.content_hash == digest)), False
    settlement = db.session.get(SettlementFile, new_id)
    lines = [SettlementLine(settlement_id=new_id, line_number=row.line, settled_on=row.settled_on,
                            reference=row.reference, amount=row.amount, payment_id=payment.id if payment else None,
                            outcome=_outcome(row, payment)) for row, payment in matches]
    matched_ids = {payment.id for _row, payment in matches if payment is not None}
    for payment in _missing_payments(first_day, last_day, matched_ids):
        lines.append(SettlementLine(settlement_id=new_id, payment_id=payment.id, outcome=SettlementOutcome.MISSING,
                                    reference=payment.instrument_number or payment.gateway_payment_id))
    db.session.add_all(lines)
    db.session.flush()
    counts = {outcome.value: sum(line.outcome == outcome for line in lines) for outcome in SettlementOutcome}
    audit.record("settlement.uploaded", settlement, {"file": settlement.filename, "lines": len(rows),
                                                     "from": first_day.isoformat(), "to": last_day.isoformat(),
                                                     **counts}, actor=staff)
    return settlement, True


def settlements(limit: int = 20) -> list[SettlementFile]:
    return list(db.session.scalars(select(SettlementFile).order_by(SettlementFile.created_at.desc(),
                                                                   SettlementFile.id.desc()).limit(limit)))


@dataclass(frozen=True)
class ReportLine:
    line: SettlementLine
    payment: Payment | None
    account: Account | None


def report_lines(settlement_id: int, staff) -> list[ReportLine]:
    """A file's lines as `staff` may see them: lines naming no payment, and those of their office's payments."""
    rows = db.session.execute(
        select(SettlementLine, Payment, Account)
        .outerjoin(Payment, Payment.id == SettlementLine.payment_id)
        .outerjoin(Account, Account.id == Payment.account_id)
        .where(SettlementLine.settlement_id == settlement_id,
               or_(SettlementLine.payment_id.is_(None), visible_to(staff)))
        .order_by(SettlementLine.line_number.is_(None), SettlementLine.line_number, SettlementLine.id))
    return [ReportLine(*row) for row in rows]


def visible_line(line_id: int, staff) -> SettlementLine | None:
    line = db.session.get(SettlementLine, line_id)
    if line is None or line.payment_id is None:
        return line
    payment = db.session.get(Payment, line.payment_id)
    return line if can_see(staff, db.session.get(Account, payment.account_id)) else None


def mark_investigated(line_id: int, note: str, staff) -> SettlementLine:
    """A person looked into a line that did not match, and says what they found; once."""
    line = visible_line(line_id, staff)
    if line is None:
        raise PaymentError.refused("no_line")
    if line.outcome == SettlementOutcome.MATCHED:
        raise PaymentError.refused("line_matched")
    done = db.session.execute(
        update(SettlementLine).where(SettlementLine.id == line_id, SettlementLine.investigated_at.is_(None))
        .values(investigated_at=utcnow(), investigated_by_id=staff.id, note=note[:200])
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise PaymentError.refused("line_investigated")
    db.session.refresh(line)
    audit.record("settlement.line_investigated", line, {"settlement": line.settlement_id, "line": line.line_number,
                                                        "outcome": line.outcome.value, "note": note[:200],
                                                        "before": None, "after": "investigated"}, actor=staff)
    return line
