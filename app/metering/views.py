"""A reading's photo, for the customers linked to its connection and for staff (the reading pages are in the portal)."""


from flask import Blueprint, abort, send_from_directory
from flask_login import current_user

from app.accounts.services import find_link
from app.auth.access import signed_in
from app.extensions import db
from app.metering.models import Meter, Reading
from app.metering.services import upload_folder

bp = Blueprint("metering", __name__)


def viewable_reading(reading_id: int) -> Reading:
    reading = db.session.get(Reading, reading_id)
    meter = reading and db.session.get(Meter, reading.meter_id)
    if meter is None or not (current_user.is_staff or find_link(current_user, meter.account_id)):
        abort(404)
    return reading


@bp.route("/readings/<int:reading_id>/photo")
@signed_in
def reading_photo(reading_id: int):
    reading = viewable_reading(reading_id)
    if not reading.photo_path:
        abort(404)
    response = send_from_directory(upload_folder(), reading.photo_path, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
