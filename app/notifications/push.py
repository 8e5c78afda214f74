"""STAND-IN, replaced by the push branch (web push: VAPID, subscriptions, pywebpush).

The contract the notification deliveries rely on, kept exactly:

    push_to_user(user_id, payload, *, ttl, urgency) -> None
        sends `payload` ({"title", "body", "url", "tag"}) to every push subscription of the user, deletes the
        subscriptions that are gone (404/410/403), raises PushRetry when a retryable failure happened
        (429/5xx/network), and returns normally otherwise (also when the user has no subscription).

Until the push branch lands this sends nothing; tests monkeypatch push_to_user.
"""


class PushRetry(Exception):
    """A retryable failure (429, 5xx, network): the delivery is tried again later."""


def push_to_user(user_id: int, payload: dict, *, ttl: int, urgency: str) -> None:
    """Replaced by the push branch: sends nothing here."""
