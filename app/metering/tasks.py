"""Metering's background work: a checked file of readings imported in chunks, each a transaction of its own, with
the import's progress saved at every chunk (the page shows it)."""

from types import SimpleNamespace

from app.db import utcnow
from app.extensions import db
from app.metering.imports import CHUNK, import_rows, record_chunk
from app.metering.models import ImportStatus, ReadingImport
from app.taskqueue import in_own_transaction, task


@task(retries=0)  # a failure shows on the import's page; importing again skips what was recorded
def import_readings(upload_id: int) -> str | None:
    upload = db.session.get(ReadingImport, upload_id)
    if upload is None or upload.status is not ImportStatus.IMPORTING:
        return None
    uploader = SimpleNamespace(office=upload.office)  # rows are checked again as the uploader's office sees them
    try:
        rows = import_rows(upload, uploader)
        for start in range(0, len(rows), CHUNK):
            in_own_transaction(_chunk, upload_id, rows[start:start + CHUNK])
    except Exception:
        in_own_transaction(_finish, upload_id, ImportStatus.FAILED)
        raise
    in_own_transaction(_finish, upload_id, ImportStatus.IMPORTED)
    return f"import {upload_id}: {len(rows)} rows"


def _chunk(upload_id: int, rows) -> None:
    recorded = record_chunk(rows, upload_id)
    upload = db.session.get(ReadingImport, upload_id)
    upload.done_rows += len(rows)
    upload.recorded += recorded


def _finish(upload_id: int, status: ImportStatus) -> None:
    upload = db.session.get(ReadingImport, upload_id)
    upload.status, upload.finished_at = status, utcnow()
    if status is ImportStatus.IMPORTED:
        upload.content = None  # the rows are in the database now
