"""What support does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import update

from app.auth.signals import user_erased
from app.extensions import db
from app.support.models import TicketMessage


def blank_messages(user, **_kwargs) -> None:
    """What an erased user wrote in complaints is blanked (the tickets stay, for the utility's records)."""
    db.session.execute(update(TicketMessage).where(TicketMessage.author_id == user.id)
                       .values(body="[erased at the customer's request]", attachment_path=None))


def connect() -> None:
    user_erased.connect(blank_messages)
