"""What accounts does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import delete

from app.accounts.models import AccountLink, LinkRequest
from app.auth.signals import user_erased
from app.extensions import db


def forget_links(user, **_kwargs) -> None:
    """An erased user is linked to no connection any more, nor asks to be (the connections and bills stay)."""
    db.session.execute(delete(AccountLink).where(AccountLink.user_id == user.id))
    db.session.execute(delete(LinkRequest).where(LinkRequest.user_id == user.id))


def connect() -> None:
    user_erased.connect(forget_links)
