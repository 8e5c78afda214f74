"""What metering tells the domains above it (blinker signals; they subscribe in their subscribers.py)."""

from blinker import Namespace

_signals = Namespace()

reading_reviewed = _signals.signal("reading-reviewed", doc="""Staff approved or rejected a reading that needed
review (sender: the Reading; `approved`: bool). The customer who submitted it is told, in the same transaction.""")
