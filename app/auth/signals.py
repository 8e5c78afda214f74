"""What auth tells the domains above it (blinker signals; they subscribe in their subscribers.py at app creation)."""

from blinker import Namespace

_signals = Namespace()

user_erased = _signals.signal("user-erased", doc="""A customer erased their account (sender: the User).
Each domain deletes or blanks the person's data in its own tables, in the same transaction.""")

user_signed_out = _signals.signal("user-signed-out", doc="""A user signed out on one browser (sender: the User;
`form`: the sign-out form, where the page may name what this browser holds, such as its push endpoint). Sent
before the session is cleared, in the request's transaction.""")
