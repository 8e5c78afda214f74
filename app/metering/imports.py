"""Readings from a file (meter readers' books, smart meters' exports): every row checked first, with a report
naming each bad line and why; then the good rows imported (or nothing, as the person chooses) by the task
queue in chunks, with progress. Importing the same file again changes nothing: a row already recorded is
skipped, a visit is unique per meter, day and status.

The file is CSV with a header: consumer_number, meter_serial, read_at, value, source, status_code. `source` is
meter_reader (default) or smart; `status_code` is empty (or ok) with a value, or one of the reader's codes
(door_locked, meter_faulty, meter_not_found, not_possible) without one."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app import audit
from app.accounts.models import Account
from app.accounts.offices import can_see
from app.db import INDIA, insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.i18n import N_, explained
from app.metering.checks import LastRead, ReadingRefused, check_reading
from app.metering.consumption import plain
from app.metering.models import (
    ImportStatus,
    Meter,
    MeterVisit,
    ReaderStatus,
    Reading,
    ReadingImport,
    ReadingSource,
    ReadingStatus,
)
from app.metering.services import accepted_on, last_accepted

COLUMNS = ("consumer_number", "meter_serial", "read_at", "value", "source", "status_code")
REQUIRED_COLUMNS = ("consumer_number", "meter_serial", "read_at")
MAX_BYTES = 16 * 1024 * 1024  # about 200,000 rows
MAX_PROBLEMS = 1000  # kept and shown; the count says how many there were in all
CHUNK = 500
SOURCES = {"": ReadingSource.METER_READER, "meter_reader": ReadingSource.METER_READER, "smart": ReadingSource.SMART}
OK_CODES = ("", "ok")


# What can be wrong with a row, by code. A file's report keeps [line, code, parameters] and says each in the reader's
# language when shown (explained()); reports kept before codes hold [line, text].
ROW_PROBLEMS = {
    "no_meter": N_("No meter %(serial)s."),
    "not_on_connection": N_("Meter %(serial)s is not on connection %(number)s."),
    "bad_source": N_("The source must be meter_reader or smart."),
    "unknown_status": N_("Unknown status code %(code)s."),
    "status_with_value": N_("A row with a status code has no value."),
    "future": N_("%(day)s is in the future."),
    "not_installed": N_("Meter %(serial)s was not installed on %(day)s."),
    "not_a_date": N_("%(text)s is not a date (2026-11-05 or 05/11/2026)."),
    "not_a_reading": N_("%(text)s is not a reading this meter can show."),
    "same_as_line": N_("The same meter and day as line %(line)s."),
}


class RowProblem(ValueError):
    """What is wrong with a row (or a day or value typed by staff): a code and its parameters, said in the language
    of whoever reads it (str() in a request: the page's language)."""

    def __init__(self, code: str, /, **params):
        super().__init__(code)
        self.code, self.params = code, plain(params)

    def __str__(self) -> str:
        return explained(ROW_PROBLEMS[self.code], self.params)


def problem_text(problem: list) -> str:
    """A report's problem ([line, code, parameters]; before codes, [line, text]) in the reader's language."""
    return explained(ROW_PROBLEMS[problem[1]], problem[2]) if len(problem) == 3 else problem[1]


class ImportRefused(ValueError):
    """The file as a whole cannot be read (not text, no header, too large)."""


@dataclass(frozen=True)
class Row:
    line: int
    meter_id: int
    read_on: date
    value: Decimal | None  # None: a visit with a reader's status instead
    source: ReadingSource
    status: ReaderStatus | None


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than %(mb)s MB: split it.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(_("The file is not UTF-8 text: save it as CSV (UTF-8).")) from None


def check_file(text: str, staff) -> tuple[list[Row], list[tuple[int, str, dict]]]:
    """The good rows and, for every bad line, its number and what is wrong (a ROW_PROBLEMS code, parameters)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportRefused(_("The first line must name the columns; missing: %(names)s.",
                              names=", ".join(missing)))
    reader.fieldnames = header
    records = [(reader.line_num, {k: (v or "").strip() for k, v in record.items() if k}) for record in reader]
    meters = _meters({record["meter_serial"] for _line, record in records})
    rows, problems, seen = [], [], {}
    for line, record in records:
        try:
            row = _row(line, record, meters, staff)
        except RowProblem as problem:
            problems.append((line, problem.code, problem.params))
            continue
        key = (row.meter_id, row.read_on, row.status)
        if key in seen:
            problems.append((line, "same_as_line", {"line": seen[key]}))
            continue
        seen[key] = line
        rows.append(row)
    return rows, problems


def _meters(serials: set[str]) -> dict[str, tuple[Meter, Account]]:
    found = db.session.execute(select(Meter, Account).join(Account, Account.id == Meter.account_id)
                               .where(Meter.serial.in_(serials))).all() if serials else []
    return {meter.serial: (meter, account) for meter, account in found}


def _row(line: int, record: dict[str, str], meters, staff) -> Row:
    serial = record.get("meter_serial", "")
    if serial not in meters:
        raise RowProblem("no_meter", serial=serial or "—")
    meter, account = meters[serial]
    if account.consumer_number != record.get("consumer_number") or not can_see(staff, account):
        raise RowProblem("not_on_connection", serial=serial, number=record.get("consumer_number") or "—")
    read_on = _day(record.get("read_at", ""))
    check_day(meter, read_on)
    source = SOURCES.get(record.get("source", "").lower())
    if source is None:
        raise RowProblem("bad_source")
    code, text = record.get("status_code", "").lower(), record.get("value", "")
    if code not in OK_CODES:
        if code not in {status.value for status in ReaderStatus}:
            raise RowProblem("unknown_status", code=code)
        if text:
            raise RowProblem("status_with_value")
        return Row(line, meter.id, read_on, None, source, ReaderStatus(code))
    return Row(line, meter.id, read_on, check_value(text, meter.digits), source, None)


def check_day(meter: Meter, read_on: date) -> None:
    """RowProblem unless `meter` could be read on that day (not in the future, while it was installed)."""
    if read_on > today_in_india():
        raise RowProblem("future", day=read_on)
    if read_on < meter.installed_on or (meter.removed_on and read_on > meter.removed_on):
        raise RowProblem("not_installed", serial=meter.serial, day=read_on)


def _day(text: str) -> date:
    """2026-11-05, 2026-11-05T10:30+05:30 or 05/11/2026 (05-11-2026): the day in India."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(INDIA).date() if moment.tzinfo else moment.date()
    except ValueError:
        pass
    try:
        day, month, year = (int(part) for part in text.replace("-", "/").split("/"))
        return date(year, month, day)
    except ValueError:
        raise RowProblem("not_a_date", text=text or "—") from None


def check_value(text: str, digits: int) -> Decimal:
    """The reading typed as `text`, or RowProblem when a meter of `digits` digits cannot show it."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value >= Decimal(10) ** digits \
            or value.as_tuple().exponent < -3:
        raise RowProblem("not_a_reading", text=text or "—")
    return value


def store_checked(filename: str, text: str, staff) -> ReadingImport:
    """Check the file and keep it with its report, waiting for the person's choice."""
    rows, problems = check_file(text, staff)
    upload = ReadingImport(filename=filename[:200], content=text, office=staff.office, total_rows=len(rows)
                           + len(problems), good_rows=len(rows), problems=[list(p) for p in problems[:MAX_PROBLEMS]],
                           problem_count=len(problems), uploaded_by_id=staff.id)
    db.session.add(upload)
    db.session.flush()
    audit.record("readings.import_checked", upload, {"file": upload.filename, "good": len(rows),
                                                     "bad": len(problems)}, actor=staff)
    return upload


def start(upload: ReadingImport, staff) -> bool:
    """The person chose "import the good rows": the import starts (the caller queues the task) and is audited, once.
    One conditional UPDATE: a double click, two tabs or two people at once start it once (False for the others)."""
    started = db.session.execute(update(ReadingImport).where(
        ReadingImport.id == upload.id, ReadingImport.status == ImportStatus.CHECKED)
        .values(status=ImportStatus.IMPORTING)).rowcount
    if started:
        audit.record("readings.import_started", upload, {"file": upload.filename, "good": upload.good_rows,
                                                         "bad": upload.problem_count}, actor=staff)
    return bool(started)


def discard(upload: ReadingImport, staff) -> None:
    upload.status, upload.content, upload.finished_at = ImportStatus.DISCARDED, None, utcnow()
    audit.record("readings.import_discarded", upload, {"file": upload.filename}, actor=staff)


def import_rows(upload: ReadingImport, staff) -> list[Row]:
    """The good rows of a checked file, checked again now (the database may have changed since)."""
    rows, _problems = check_file(upload.content or "", staff)
    return sorted(rows, key=lambda row: (row.meter_id, row.read_on, row.line))


def record_chunk(rows: list[Row], upload_id: int) -> int:
    """Write one chunk's readings and visits; returns how many were new."""
    recorded = 0
    for row in rows:
        if row.status is not None:
            new_id = db.session.scalar(insert_ignore(db.session, MeterVisit.__table__).values(
                meter_id=row.meter_id, visited_on=row.read_on, status=row.status.value, import_id=upload_id,
                created_at=utcnow()).returning(MeterVisit.id))  # no row back: it was recorded before
            recorded += new_id is not None
        elif record_reading(db.session.get(Meter, row.meter_id), row.read_on, row.value, row.source) is not None:
            recorded += 1
    return recorded


def record_reading(meter: Meter, read_on: date, value: Decimal, source: ReadingSource,
                   submitted_by_id: int | None = None) -> Reading | None:
    """A reader's reading (from a file or typed by staff), checked as customers' are: an anomaly waits in the
    review queue. None when the same value for that meter and day is already recorded (nothing changes)."""
    already = select(func.count(Reading.id)).where(Reading.meter_id == meter.id, Reading.read_on == read_on,
                                                   Reading.value == value)
    if db.session.scalar(already):
        return None
    last = last_accepted(meter)
    try:
        verdict = check_reading(value, read_on, LastRead(last.value, last.read_on) if last else None,
                                meter.digits, _usual_daily(meter), confirm_rollover=True)
        status, note, rollover = verdict.status, verdict.reason, verdict.rollover
    except ReadingRefused:
        status, note, rollover = ReadingStatus.NEEDS_REVIEW, "older than the last reading", False
    if status is ReadingStatus.ACCEPTED and accepted_on(meter, read_on):
        status, note = ReadingStatus.NEEDS_REVIEW, "a reading for today is already recorded"
    reading = Reading(meter_id=meter.id, read_on=read_on, value=value, source=source, status=status,
                      rollover=rollover, review_note=note, submitted_by_id=submitted_by_id)
    db.session.add(reading)
    db.session.flush()
    return reading


def _usual_daily(meter: Meter) -> Decimal | None:
    """Units a day between the meter's last two accepted actual readings (metering's own view of usual use)."""
    two = db.session.scalars(
        select(Reading).where(Reading.meter_id == meter.id, Reading.status == ReadingStatus.ACCEPTED,
                              Reading.source != ReadingSource.ESTIMATED, Reading.rollover.is_(False))
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(2)).all()
    if len(two) < 2 or two[0].read_on == two[1].read_on:
        return None
    return (two[0].value - two[1].value) / (two[0].read_on - two[1].read_on).days
