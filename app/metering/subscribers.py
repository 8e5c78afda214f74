"""What metering does when a lower domain tells it something (connected by create_app)."""

from sqlalchemy import select

from app.auth.signals import user_erased
from app.extensions import db
from app.metering.models import Reading
from app.metering.services import upload_folder


def delete_photos(user, **_kwargs) -> None:
    """An erased user's meter photos are deleted; the readings stay (bills were computed from them)."""
    for reading in db.session.scalars(select(Reading).where(Reading.submitted_by_id == user.id,
                                                            Reading.photo_path.is_not(None))):
        (upload_folder() / reading.photo_path).unlink(missing_ok=True)
        reading.photo_path = None


def connect() -> None:
    user_erased.connect(delete_photos)
