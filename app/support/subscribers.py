"""What support does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import select, update

from app.auth.signals import user_erased
from app.extensions import db
from app.support.models import Ticket, TicketMessage
from app.support.services import photos

ERASED = "[erased at the customer's request]"


def blank_messages(user, **_kwargs) -> None:
    """What an erased user wrote in complaints (the subjects too) is blanked and their photos deleted (the tickets
    stay, for the utility's records)."""
    for name in db.session.scalars(select(TicketMessage.attachment_path).where(
            TicketMessage.author_id == user.id, TicketMessage.attachment_path.is_not(None))):
        (photos() / name).unlink(missing_ok=True)
    db.session.execute(update(TicketMessage).where(TicketMessage.author_id == user.id)
                       .values(body=ERASED, attachment_path=None))
    db.session.execute(update(Ticket).where(Ticket.user_id == user.id).values(subject=ERASED))


def connect() -> None:
    user_erased.connect(blank_messages)
