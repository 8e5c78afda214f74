"""Bill runs: bill every connection due in a cycle exactly once, in bulk, resumably.

A run works through the due connections in chunks. Each chunk is read with a handful of queries, composed in
memory (billing.compose), written with a few bulk INSERTs and committed with the run's progress. A database
constraint (one bill per account and cycle) and INSERT … ON CONFLICT DO NOTHING make a second run, a resumed
run after a crash, or two runs at once harmless: nothing is ever billed twice.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, insert, or_, select, update

from app import audit
from app.accounts.models import Account, AccountStatus, BillingCycle
from app.billing import ledger
from app.billing import tariff as engine
from app.billing.compose import (
    BillingInputs,
    CannotBill,
    ComposedBill,
    Cycle,
    PriorBill,
    TariffVersionFacts,
    compose_bill,
)
from app.billing.models import (
    Bill,
    BillLine,
    BillRun,
    BillRunChunk,
    BillRunError,
    BillRunStatus,
    LedgerEntry,
    LedgerKind,
    TariffParam,
    TariffVersion,
)
from app.billing.signals import bills_issued
from app.db import begin_write, insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.metering.consumption import ConsumptionError, RegisterRead
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.taskqueue import in_own_transaction

log = logging.getLogger(__name__)

CHUNK_SIZE = 500
HISTORY_DAYS = 800  # readings and bills this far back are loaded: anchors, estimates, same period last year
STALE_AFTER = timedelta(minutes=5)  # a run beats at every chunk (seconds); silent this long, it was killed


@dataclass
class RunSummary:
    cycle: str
    total: int = 0
    billed: int = 0
    amount: Decimal = Decimal("0.00")
    errors: dict[int, str] = field(default_factory=dict)


def bill_number(cycle: Cycle, consumer_number: str, revision: int = 0) -> str:
    number = f"B{cycle.year % 100:02d}{cycle.month:02d}-{consumer_number}"
    return f"{number}-R{revision}" if revision else number


def due_accounts(cycle: Cycle, region: str | None):
    """Connections due this cycle that have no bill for it yet."""
    query = select(Account.id).where(
        Account.status == AccountStatus.ACTIVE,
        Account.connected_on <= cycle.last_day,
        or_(Account.billing_cycle == BillingCycle.MONTHLY,
            and_(Account.billing_cycle == BillingCycle.BIMONTHLY, Account.cycle_offset == cycle.month % 2)),
        ~exists().where(Bill.account_id == Account.id, Bill.cycle == str(cycle)),
    )
    return query.where(Account.region == region) if region else query


def start_run(cycle: Cycle, region: str | None = None, actor=None, hold: bool = False,
              issued_on: date | None = None) -> BillRun:
    """A new run row; runs of the same cycle and region whose heartbeat stopped are marked interrupted (this run
    bills what they left: bills are unique per account and cycle). With `hold` its bills wait for release_run."""
    mark_interrupted(BillRun.cycle == str(cycle), BillRun.region == (region or ""),
                     BillRun.heartbeat_at < utcnow() - STALE_AFTER)
    total = db.session.scalar(select(func.count()).select_from(due_accounts(cycle, region).subquery()))
    run = BillRun(cycle=str(cycle), region=region or "", total=total, started_by_id=getattr(actor, "id", None),
                  heartbeat_at=utcnow(), hold=hold, issued_on=issued_on or today_in_india())
    db.session.add(run)
    db.session.flush()
    audit.record("bill_run.started", run, {"cycle": str(cycle), "region": region or "", "due": total,
                                           "hold": hold}, actor=actor)
    return run


def held_run_before(cycle: Cycle, region: str | None) -> BillRun | None:
    """A run of an earlier cycle, over these connections, whose bills are still withheld. A later cycle waits for
    its release: its bills build on that one (previous balance, opening reading)."""
    overlapping = or_(BillRun.region == "", BillRun.region == region) if region else True
    return db.session.scalar(select(BillRun).where(BillRun.cycle < str(cycle), BillRun.withholding(), overlapping)
                             .order_by(BillRun.cycle).limit(1))


def running_run(cycle: Cycle, region: str | None) -> BillRun | None:
    """A run of this cycle and region that is alive (its heartbeat is recent), if any."""
    return db.session.scalar(select(BillRun).where(
        BillRun.cycle == str(cycle), BillRun.region == (region or ""), BillRun.status == BillRunStatus.RUNNING,
        BillRun.heartbeat_at >= utcnow() - STALE_AFTER).limit(1))


@dataclass(frozen=True)
class RunResult:
    bills: int
    units: Decimal
    amount: Decimal
    replaced: int = 0  # the run's bills cancelled or revised since (not counted above)


def run_result(run: BillRun) -> RunResult:
    """What a run has written so far and still stands: its bills not cancelled or revised since (held or
    released), their units and current charges; and how many of its bills were cancelled or revised."""
    bills, units, amount, written = db.session.execute(
        select(func.count(Bill.id).filter(ledger.standing()),
               func.coalesce(func.sum(Bill.units).filter(ledger.standing()), 0),
               func.coalesce(func.sum(Bill.current_charges).filter(ledger.standing()), 0),
               func.count(Bill.id)).where(Bill.bill_run_id == run.id)).one()
    return RunResult(bills, Decimal(units), Decimal(amount).quantize(Decimal("0.01")), written - bills)


def due_cycle(today: date) -> Cycle:
    """The cycle a run is normally started for on `today` (a day in India): the month just ended, the last whose
    readings are all in (a cycle's bills come from readings taken during its month)."""
    return Cycle(today.year, today.month).shifted(-1)


def mark_interrupted(*which) -> int:
    """Runs still marked running that match `which` are interrupted: nothing runs them any more."""
    result = db.session.execute(update(BillRun).where(BillRun.status == BillRunStatus.RUNNING, *which)
                                .values(status=BillRunStatus.INTERRUPTED, finished_at=utcnow()))
    return result.rowcount or 0


def mark_stale_runs() -> int:
    """Every run whose heartbeat stopped (its process was killed) is interrupted (a periodic task)."""
    return mark_interrupted(BillRun.heartbeat_at < utcnow() - STALE_AFTER)


def run_bills(cycle: Cycle, region: str | None = None, issued_on: date | None = None, dry_run: bool = False,
              chunk_size: int = CHUNK_SIZE, actor=None, run: BillRun | None = None) -> RunSummary:
    """Bill every due connection. With dry_run nothing is written; the summary says what would be billed."""
    issued_on = issued_on or (run.issued_on if run is not None and run.issued_on else today_in_india())
    if cycle.first_day > issued_on:
        raise ValueError(f"cycle {cycle} has not begun on {issued_on}: nothing can be billed for it yet")
    if run is None and not dry_run:
        run = in_own_transaction(start_run, cycle, region, actor)  # seen at once: progress, and a resume
    summary = RunSummary(cycle=str(cycle))
    context = in_own_transaction(_RunContext.load, cycle)  # a read; each chunk below then starts as a writer
    try:
        _bill_in_chunks(context, cycle, region, issued_on, dry_run, chunk_size, run, summary)
    except BaseException:
        if run is not None:  # an error (not a kill) ends the run visibly; bills already written stand
            in_own_transaction(_end_run, run.id, BillRunStatus.FAILED)
        raise
    if run is not None:
        in_own_transaction(_end_run, run.id, BillRunStatus.FINISHED)
    return summary


def _end_run(run_id: int, status: BillRunStatus, *unless) -> bool:
    """A run not yet ended ends (a conditional UPDATE: once, whoever else tries); `unless`: conditions that keep
    it as it is. True if this call ended it."""
    # An interrupted run that did finish after all (it was only slow) says so.
    ending = (BillRunStatus.RUNNING, BillRunStatus.INTERRUPTED)
    ended = db.session.execute(update(BillRun).where(BillRun.id == run_id, BillRun.status.in_(ending),
                                                     *(~condition for condition in unless))
                               .values(status=status, finished_at=utcnow())).rowcount
    if not ended:
        return False
    run = db.session.get(BillRun, run_id)
    db.session.refresh(run)
    if status is BillRunStatus.FINISHED:
        # An earlier run of this cycle that gave no sign of life while this one ran was killed: this run did its
        # work (a run really running beside it beats at every chunk and is left alone).
        mark_interrupted(BillRun.cycle == run.cycle, BillRun.region == run.region, BillRun.id != run.id,
                         BillRun.heartbeat_at < run.started_at)
    audit.record(f"bill_run.{status.value}", run, {"done": run.done, "errors": run.error_count})
    return True


def _bill_in_chunks(context, cycle: Cycle, region: str | None, issued_on: date, dry_run: bool, chunk_size: int,
                    run: BillRun | None, summary: RunSummary) -> None:
    """Chunk after chunk, each a transaction of its own: a run killed half-way keeps the chunks it finished, and
    the next run (bills are unique per account and cycle) bills only the rest."""
    after_id = 0
    while after_id is not None:
        after_id = in_own_transaction(_bill_chunk, context, cycle, region, issued_on, dry_run, chunk_size, run,
                                      summary, after_id)


def _bill_chunk(context, cycle: Cycle, region: str | None, issued_on: date, dry_run: bool, chunk_size: int,
                run: BillRun | None, summary: RunSummary, after_id: int) -> int | None:
    """Bill the next chunk of due accounts after `after_id`; returns the last account id, or None when done."""
    begin_write(db.session)
    ids = list(db.session.scalars(
        due_accounts(cycle, region).where(Account.id > after_id).order_by(Account.id).limit(chunk_size)
    ))
    if not ids:
        return None
    composed, errors = _compose_chunk(context, ids, issued_on)
    summary.total += len(ids)
    summary.errors.update({account_id: str(problem) for account_id, problem in errors.items()})
    summary.amount += sum((bill.current_charges for _account, bill in composed), Decimal("0.00"))
    if dry_run:  # nothing of a dry run is written
        summary.billed += len(composed)
        return ids[-1]
    summary.billed += _write_chunk(run, cycle, issued_on, composed, errors)
    return ids[-1]


class _RunContext:
    """What every chunk of a run shares: the tariff versions, parsed once."""

    def __init__(self, cycle: Cycle, versions: dict[int, list[TariffVersionFacts]]):
        self.cycle = cycle
        self.versions = versions
        self.quotes: dict = {}  # see BillingInputs.quotes

    @classmethod
    def load(cls, cycle: Cycle) -> "_RunContext":
        versions: dict[int, list[TariffVersionFacts]] = defaultdict(list)
        for version in db.session.scalars(select(TariffVersion).where(TariffVersion.in_force())
                                          .order_by(TariffVersion.effective_from)):
            versions[version.tariff_id].append(TariffVersionFacts(version.id, engine.stored_tariff(version.document)))
        return cls(cycle, versions)


def compose_for(cycle: Cycle, account_ids: list[int], issued_on: date):
    """Compose (without writing) the bills of these accounts for `cycle`: ([(account, bill)], {account: why not}),
    each why a CannotBill or ConsumptionError (its code and parameters)."""
    return _compose_chunk(_RunContext.load(cycle), account_ids, issued_on)


def _compose_chunk(context: _RunContext, ids: list[int], issued_on: date):
    cycle = context.cycle
    since = cycle.first_day - timedelta(days=HISTORY_DAYS)
    accounts = db.session.scalars(select(Account).where(Account.id.in_(ids)).order_by(Account.id)).all()
    reads = _reads_by_account(ids, since, cycle.last_day)
    prior = _prior_bills_by_account(ids, since, str(cycle))
    params = _params_by_tariff({a.tariff_id for a in accounts if a.tariff_id}, cycle)
    balances = ledger.balances(ids)
    money_in: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for account_id, day, amount in ledger.money_in_between(ids, since):
        money_in[account_id].append((day, amount))

    composed: list[tuple[Account, ComposedBill]] = []
    errors: dict[int, CannotBill | ConsumptionError] = {}
    for account in accounts:
        bills = prior.get(account.id, [])
        previous = bills[-1] if bills else None
        paid = sum((amount for day, amount in money_in[account.id]
                    if previous and previous.issued_on <= day <= previous.due_date), Decimal("0.00"))
        try:
            composed.append((account, compose_bill(BillingInputs(
                cycle=cycle, issued_on=issued_on, versions=context.versions.get(account.tariff_id, []),
                params=params.get(account.tariff_id, {}), load_kw=account.sanctioned_load_kw,
                phase=account.phase.value, flags=account.flags, prior=bills, reads=reads.get(account.id, []),
                balance=balances[account.id], paid_by_previous_due_date=paid, quotes=context.quotes,
                connected_on=account.connected_on,
            ))))
        except (CannotBill, ConsumptionError) as problem:
            errors[account.id] = problem
        except engine.TariffError as problem:
            errors[account.id] = CannotBill("cannot_price", detail=str(problem)[:500])
    return composed, errors


def _reads_by_account(ids: list[int], since: date, until: date) -> dict[int, list[RegisterRead]]:
    rows = db.session.execute(
        select(Meter.account_id, Reading.id, Reading.meter_id, Reading.read_on, Reading.value, Reading.rollover,
               Meter.digits, Meter.multiplying_factor)
        .join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id.in_(ids), Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED, Reading.read_on >= since, Reading.read_on <= until)
        .order_by(Reading.read_on, Reading.id)
    )
    reads: dict[int, list[RegisterRead]] = defaultdict(list)
    powers = {digits: Decimal(10) ** digits for digits in range(1, 13)}
    for account_id, reading_id, meter_id, read_on, value, rollover, digits, factor in rows.tuples():
        reads[account_id].append(RegisterRead(meter_id, read_on, reading_id, value, rollover, powers[digits], factor))
    return reads


def _prior_bills_by_account(ids: list[int], since: date, before_cycle: str) -> dict[int, list[PriorBill]]:
    """Each account's bills in force: per cycle the latest revision, unless a credit note cancelled it."""
    columns = (Bill.id, Bill.account_id, *(getattr(Bill, name) for name in PriorBill.__dataclass_fields__))
    rows = db.session.execute(
        select(*columns).where(Bill.account_id.in_(ids), Bill.cycle < before_cycle, Bill.period_end >= since,
                               ledger.in_force())
        .order_by(Bill.account_id, Bill.period_start)
    ).all()
    prior: dict[int, list[PriorBill]] = defaultdict(list)
    for row in rows:
        prior[row.account_id].append(PriorBill(**{name: getattr(row, name) for name in PriorBill.__dataclass_fields__}))
    return prior


def _params_by_tariff(tariff_ids: set[int], cycle: Cycle) -> dict[int, dict[str, Decimal]]:
    params: dict[int, dict[str, Decimal]] = defaultdict(dict)
    rows = db.session.execute(
        select(TariffParam.tariff_id, TariffParam.name, TariffParam.value)
        .where(TariffParam.tariff_id.in_(tariff_ids), TariffParam.month == cycle.first_day)
    )
    for tariff_id, name, value in rows:
        params[tariff_id][name] = value
    return params


def insert_bills(cycle: Cycle, issued_on: date, composed, run_id: int | None = None, revision: int = 0,
                 revises: dict[int, int] | None = None, post_late_fees: bool = True,
                 withheld: bool = False) -> dict[int, int]:
    """Insert bills (skipping any that another run wrote first), their lines and ledger entries, in bulk.
    `withheld` bills (a held run's) get no ledger entry and no notice: release_run posts and announces them.

    Returns {account id: new bill id} for the bills this call wrote.
    """
    if not composed:
        return {}
    rows = [_bill_row(run_id, cycle, issued_on, account, bill, revision, (revises or {}).get(account.id))
            for account, bill in composed]
    inserted = dict(db.session.execute(
        insert_ignore(db.session, Bill.__table__)
        .returning(Bill.__table__.c.account_id, Bill.__table__.c.id), rows
    ).all())
    lines, entries = [], []
    for account, bill in composed:
        bill_id = inserted.get(account.id)
        if bill_id is None:
            continue
        lines += [{"bill_id": bill_id, "position": n, "code": line.code, "label": line.label,
                   "amount": line.amount, "details": line.details} for n, line in enumerate(bill.lines, 1)]
        number = bill_number(cycle, account.consumer_number, revision)
        entries.append(_entry(account.id, LedgerKind.BILL, bill.current_charges, issued_on, bill_id, f"Bill {number}"))
        if bill.late_fee and post_late_fees:
            entries.append(_entry(account.id, LedgerKind.LATE_FEE, bill.late_fee, issued_on, bill_id,
                                  f"Late payment surcharge on bill {number}"))
    if lines:
        db.session.execute(insert(BillLine.__table__), lines)
    if withheld:
        return inserted
    if entries:
        db.session.execute(insert(LedgerEntry.__table__), entries)
    if inserted:
        bills_issued.send(None, bill_ids=sorted(inserted.values()))
    return inserted


def _write_chunk(run: BillRun, cycle: Cycle, issued_on: date, composed, errors: dict) -> int:
    # The progress first: it locks the run's row (PostgreSQL) until this chunk commits, so a release waits for the
    # chunk, and the chunk sees whether the run is still held as it writes.
    withheld = db.session.execute(update(BillRun).where(BillRun.id == run.id).values(
        done=BillRun.done + len(composed) + len(errors), error_count=BillRun.error_count + len(errors),
        heartbeat_at=utcnow()).returning(BillRun.hold, BillRun.released_at)).one()
    billed = len(insert_bills(cycle, issued_on, composed, run_id=run.id,
                              withheld=withheld.hold and withheld.released_at is None))
    if errors:
        db.session.execute(insert_ignore(db.session, BillRunError.__table__),
                           [{"run_id": run.id, "account_id": a, "reason": str(why)[:1000], "code": why.code,
                             "params": why.params, "created_at": utcnow()} for a, why in errors.items()])
    return billed


def _bill_row(run_id: int | None, cycle: Cycle, issued_on: date, account: Account, bill: ComposedBill,
              revision: int, revises_id: int | None) -> dict:
    return {
        "number": bill_number(cycle, account.consumer_number, revision), "account_id": account.id,
        "cycle": str(cycle), "period_start": bill.period_start, "period_end": bill.period_end,
        "revision": revision, "revises_id": revises_id, "bill_run_id": run_id,
        "tariff_version_id": bill.tariff_version_id, "issued_on": issued_on, "due_date": bill.due_date,
        "units": bill.units, "estimated": bill.estimated, "carried_units": bill.carried_units,
        "opening_reading_id": bill.opening_reading_id, "closing_reading_id": bill.closing_reading_id,
        "current_charges": bill.current_charges, "previous_balance": bill.previous_balance,
        "payments_since": bill.payments_since, "late_fee": bill.late_fee, "total_due": bill.total_due,
        "created_at": utcnow(),
    }


def _entry(account_id: int, kind: LedgerKind, amount: Decimal, day: date, bill_id: int, text: str) -> dict:
    return {"account_id": account_id, "kind": kind.value, "amount": amount, "effective_on": day,
            "posted_at": utcnow(), "bill_id": bill_id, "description": text}


# --- chunked runs: several consumers at once (PostgreSQL) ---------------------------------------------------------

def runs_in_chunks(run: BillRun) -> bool:
    """A run over many connections on PostgreSQL is billed by chunk tasks that several consumers run at once; on
    SQLite (one writer at a time) the run stays one task."""
    return db.session.get_bind().dialect.name == "postgresql" and run.total > CHUNK_SIZE


def plan_chunks(run_id: int, chunk_size: int | None = None) -> int:
    """Split the run's due connections into id ranges of `chunk_size` (rows of bill_run_chunks; planning again
    writes nothing new). Returns the number of chunks."""
    run, chunk_size = db.session.get(BillRun, run_id), chunk_size or CHUNK_SIZE
    due = due_accounts(Cycle.parse(run.cycle), run.region or None).add_columns(
        func.row_number().over(order_by=Account.id).label("n")).subquery()
    firsts = list(db.session.scalars(select(due.c.id).where((due.c.n - 1) % chunk_size == 0).order_by(due.c.id)))
    if not firsts:
        return 0
    last = db.session.scalar(select(func.max(due.c.id)))
    ends = [following - 1 for following in firsts[1:]] + [last]
    db.session.execute(insert_ignore(db.session, BillRunChunk.__table__), [
        {"run_id": run_id, "seq": seq, "first_account_id": first, "last_account_id": end}
        for seq, (first, end) in enumerate(zip(firsts, ends, strict=True))])
    return len(firsts)


def chunk_seqs(run_id: int) -> list[int]:
    return list(db.session.scalars(select(BillRunChunk.seq).where(BillRunChunk.run_id == run_id,
                                                                  BillRunChunk.done_at.is_(None))
                                   .order_by(BillRunChunk.seq)))


def bill_chunk(run_id: int, seq: int) -> int | None:
    """Bill one chunk of a running run, in the caller's transaction: its connections not billed yet, its progress,
    and the chunk marked done. The chunk's row is locked meanwhile; a chunk done, or being billed by another
    consumer (SKIP LOCKED), is left alone (None). The last chunk to commit ends the run (see _finish_if_last)."""
    begin_write(db.session)
    chunk = db.session.scalar(select(BillRunChunk).where(
        BillRunChunk.run_id == run_id, BillRunChunk.seq == seq, BillRunChunk.done_at.is_(None))
        .with_for_update(skip_locked=True))
    run = db.session.get(BillRun, run_id)
    if chunk is None or run.status is not BillRunStatus.RUNNING:
        return None
    cycle = Cycle.parse(run.cycle)
    ids = list(db.session.scalars(due_accounts(cycle, run.region or None).where(
        Account.id.between(chunk.first_account_id, chunk.last_account_id)).order_by(Account.id)))
    composed, errors = _compose_chunk(_RunContext.load(cycle), ids, run.issued_on) if ids else ([], {})
    chunk.done_at = utcnow()
    db.session.flush()
    billed = _write_chunk(run, cycle, run.issued_on, composed, errors)  # locks the run's row until commit
    _finish_if_last(run_id)
    return billed


def _finish_if_last(run_id: int) -> bool:
    """End the run if no chunk is left. Every chunk's transaction holds the run's row lock from its progress update
    to its commit, so chunks end one after another and this statement (READ COMMITTED: a fresh snapshot) sees every
    chunk committed before: only the last one finds none left, and the status condition makes the end once."""
    left = exists().where(BillRunChunk.run_id == run_id, BillRunChunk.done_at.is_(None))
    return _end_run(run_id, BillRunStatus.FINISHED, left)


def fail_run(run_id: int) -> bool:
    return _end_run(run_id, BillRunStatus.FAILED)
