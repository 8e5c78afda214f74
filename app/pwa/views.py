"""The installable app: manifest and service worker served from the site root (root scope)."""

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, has_request_context, make_response, request, send_file
from flask_babel import force_locale, get_locale
from flask_login import current_user

from app.auth.access import public
from app.web.headers import offline_key
from app.web.static_files import static_url
from app.web.templating import render

bp = Blueprint("pwa", __name__)

ROOT = Path(__file__).resolve().parents[2]

# What the service worker keeps from its installation on, so every page can start without a network.
# (The offline page itself is fetched signed-out, so it holds nobody's data.)
SHELL_FILES = ("css/app.css", "js/htmx-2.0.11.min.js", "js/app.js", "icons/icon-192.png")


@bp.app_context_processor
def offline_user():
    """The key the service worker files this user's offline pages under ("" when no customer is signed in);
    app.js reads it from the page so a queued reading is only ever sent for the user who made it."""
    user = current_user if has_request_context() else None  # templates rendered by jobs have no user
    customer = user is not None and user.is_authenticated and not user.is_staff
    return {"offline_user_key": offline_key(user) if customer else ""}


@bp.route("/manifest.json")
@public
def manifest():
    response = send_file(ROOT / "manifest.json", mimetype="application/manifest+json", max_age=3600)
    return response


@cache
def _manifest_icons() -> tuple[str, ...]:
    return tuple(icon["src"] for icon in json.loads((ROOT / "manifest.json").read_text())["icons"])


@bp.route("/service_worker.js")
@public
def service_worker():
    # The worker starts with its build: the versioned shell URLs and a version made from them and the worker's
    # own text, so any change to the shell makes browsers install a new worker, which drops the old caches.
    source = (ROOT / "service_worker.js").read_text()
    shell = [static_url(name) for name in SHELL_FILES] + list(_manifest_icons())
    version = hashlib.sha256(json.dumps([source, shell]).encode()).hexdigest()[:12]
    build = json.dumps({"version": version, "shell": shell, "slowPageMs": current_app.config["PWA_SLOW_PAGE_MS"]},
                       separators=(",", ":"))
    response = Response(f"self.DTECH_BUILD = {build};\n{source}", mimetype="text/javascript")
    # Browsers check for a new worker on each visit; it must never be cached for long.
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
@public
def offline():
    """The page for one not kept on the phone, fetched signed out by the service worker in each language."""
    language = request.args.get("lang")
    if language not in current_app.config["LANGUAGES"]:
        language = str(get_locale())
    with force_locale(language):
        response = make_response(render("pwa/offline.html", utility=current_app.config["UTILITY_NAME"],
                                        offline_page=True))
    response.headers["Content-Language"] = language
    return response
