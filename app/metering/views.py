"""A reading's photo, for the customers linked to its connection and for staff (the reading pages are in the portal)."""


from flask import Blueprint, abort, send_from_directory

from app.accounts.selection import viewable
from app.auth.access import signed_in
from app.extensions import db
from app.metering.models import Reading
from app.metering.services import account_id_of, upload_folder

bp = Blueprint("metering", __name__)


@bp.route("/readings/<int:reading_id>/photo")
@signed_in
def reading_photo(reading_id: int):
    reading = viewable(db.session.get(Reading, reading_id), account_id_of)
    if not reading.photo_path:
        abort(404)
    response = send_from_directory(upload_folder(), reading.photo_path, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
