"""The installable app's server side: manifest, service worker and its build, the offline page, and the hooks in
every page that static/js/app.js and service_worker.js rely on."""

import gzip
import json
import re
from pathlib import Path

from PIL import Image

from app.extensions import db
from config import Config
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
# The same pattern service_worker.js uses to mark a kept copy: if the template drifts, this fails first.
BANNER_TAG = re.compile(r'<div[^>]*\sid="offline-banner"[^>]*>')


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return found and found.group(1)


def test_manifest_has_what_an_installable_app_needs(client):
    response = client.get("/manifest.json")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    for key in ("name", "short_name", "description", "start_url", "scope", "theme_color", "background_color",
                "lang", "id"):
        assert manifest[key], key
    assert manifest["display"] == "standalone" and manifest["scope"] == "/"
    assert manifest["start_url"].startswith(manifest["scope"])
    assert len(manifest["short_name"]) <= 12  # shown under the home-screen icon
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    for size in ("192x192", "512x512"):
        for purpose in ("any", "maskable"):
            src = icons[(size, purpose)]
            assert client.get(src).status_code == 200
            with Image.open(ROOT / src.lstrip("/")) as image:
                assert f"{image.width}x{image.height}" == size and image.format == "PNG"


def test_service_worker_is_served_from_the_root_with_its_shell(client, app):
    response = client.get("/service_worker.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    first_line, rest = source.split("\n", 1)
    build = json.loads(first_line.removeprefix("self.DTECH_BUILD = ").removesuffix(";"))
    assert re.fullmatch(r"[0-9a-f]{12}", build["version"])
    assert build["slowPageMs"] == app.config["PWA_SLOW_PAGE_MS"]
    assert Config().PWA_SLOW_PAGE_MS == 3000  # a phone waits 3 s for a page before showing its own copy
    assert rest == (ROOT / "service_worker.js").read_text()
    page = client.get("/login").get_data(as_text=True)
    for url in build["shell"]:
        assert client.get(url).status_code == 200, url
    asked = re.findall(r'"(/static/(?:css/app|js/app|js/htmx-[^"]*)\.[0-9a-f]{12}\.(?:css|js))"', page)
    assert len(asked) == 3
    for url in asked:
        assert url in build["shell"]  # exactly the versions the pages ask for


def test_offline_page_is_public_and_holds_no_user(client):
    page = client.get("/offline")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-offline-page" in html and 'data-user=""' in html and "X-DTech-Offline" not in page.headers


def test_offline_page_comes_in_each_language_and_names_nobody(client):
    hindi = client.get("/offline?lang=hi_IN")
    html = hindi.get_data(as_text=True)
    assert hindi.headers["Content-Language"] == "hi_IN" and '<html lang="hi">' in html
    assert "Sign in" not in html and "action=\"/language\"" not in html and "action=\"/logout\"" not in html
    assert client.get("/offline?lang=en_IN").headers["Content-Language"] == "en_IN"
    assert client.get("/offline?lang=xx").status_code == 200  # an unknown language: the browser's


def test_every_page_has_the_hooks_the_scripts_rely_on(client, login_as):
    anonymous = client.get("/login").get_data(as_text=True)
    tag = BANNER_TAG.search(anonymous).group(0)
    assert " hidden" in tag and attribute(tag, "data-user") == ""
    assert "{time}" in attribute(tag, "data-message") and attribute(tag, "data-rendered-at")
    status = re.search(r'<div[^>]*\sid="pwa-status"[^>]*>', anonymous).group(0)
    for name in ("data-queued", "data-sent", "data-see", "data-failed", "data-remove"):
        assert attribute(status, name), name
    assert re.search(r'hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', anonymous)  # the worker refreshes tokens here

    user = login_as("customer")
    factories.link(user, factories.make_account())
    db.session.commit()
    response = client.get("/")
    tag = BANNER_TAG.search(response.get_data(as_text=True)).group(0)
    assert attribute(tag, "data-user") == response.headers["X-DTech-Offline"]  # the same key as the header


def test_staff_pages_carry_no_offline_key(client, login_as):
    login_as("support")
    response = client.get("/staff")
    assert "X-DTech-Offline" not in response.headers
    assert attribute(BANNER_TAG.search(response.get_data(as_text=True)).group(0), "data-user") == ""


def test_page_script_stays_small():
    script = (ROOT / "static/js/app.js").read_bytes()
    assert len(gzip.compress(script, 9)) < 4096  # it loads on every page of a cheap phone
    assert b"console." not in script and b"eval(" not in script
