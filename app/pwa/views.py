"""The installable app: manifest and service worker served from the site root (root scope)."""

from pathlib import Path

from flask import Blueprint, current_app, send_file

from app.auth.access import public
from app.web.templating import render

bp = Blueprint("pwa", __name__)

ROOT = Path(__file__).resolve().parents[2]


@bp.route("/manifest.json")
@public
def manifest():
    response = send_file(ROOT / "manifest.json", mimetype="application/manifest+json", max_age=3600)
    return response


@bp.route("/service_worker.js")
@public
def service_worker():
    # Browsers check for a new worker on each visit; it must never be cached for long.
    response = send_file(ROOT / "service_worker.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
@public
def offline():
    return render("pwa/offline.html", utility=current_app.config["UTILITY_NAME"])
