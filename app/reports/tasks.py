"""The report summaries kept fresh (see summaries.py for what they hold and why)."""

from huey import crontab

from app.reports import summaries
from app.taskqueue import periodic_task

LOCK = "report-summaries"  # one rebuild at a time: two would delete and insert the same month's rows


@periodic_task(crontab(minute="*/15"), retries=2, retry_delay=60, lock=LOCK)
def refresh_recent_report_summaries() -> str:
    """This month and the two before it: where new bills and payments land."""
    return f"{summaries.rebuild_recent(summaries.RECENT_MONTHS)} summary rows rebuilt"


@periodic_task(crontab(minute="20", hour="20"), retries=2, retry_delay=300, lock=LOCK)
def rebuild_report_summaries() -> str:
    """Every month a report can show (at 01:50 in India, when little else runs): late corrections included."""
    return f"{summaries.rebuild_recent(summaries.MONTHS_KEPT)} summary rows rebuilt"
