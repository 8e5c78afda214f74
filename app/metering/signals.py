"""What metering tells the domains above it (blinker signals; they subscribe in their subscribers.py)."""

from blinker import Namespace

_signals = Namespace()

reading_reviewed = _signals.signal("reading-reviewed", doc="""Staff approved or rejected a reading that needed
review (sender: the Reading; `approved`: bool). The customer who submitted it is told, in the same transaction.""")

reading_recorded = _signals.signal("reading-recorded", doc="""A meter reading was recorded (sender: the Reading,
accepted or waiting for review; keyword account: its connection). Sent inside the transaction that wrote it; a
receiver writes in it too (usage alerts).""")
