"""Static files as a phone needs them (app/web/static_files.py): hashed names cached for a year, brotli and gzip made
at build time and served by WhiteNoise; pages and other dynamic text compressed per request (Flask-Compress)."""

import gzip
import json
import logging
import re
from pathlib import Path

import brotli
import pytest
from flask import Response, stream_with_context
from sqlalchemy import select

from app import create_app
from app.billing.models import Bill
from app.extensions import db
from app.web import static_files
from config import TestingConfig
from tests.functional.test_customer_pages import billed_customer

ROOT = Path(__file__).resolve().parents[2]
IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r'(?:src|href)="(/static/[^"]+\.[0-9a-f]{12}\.\w+)"')


def decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](response.data)


def source_of(url: str) -> bytes:
    """The file in static/ a hashed URL stands for (/static/css/app.<hash>.css → static/css/app.css)."""
    return (ROOT / re.sub(r"\.[0-9a-f]{12}(?=\.\w+$)", "", url).lstrip("/")).read_bytes()


def test_pages_ask_for_hashed_names_served_for_a_year_brotli_or_gzip_as_asked(client):
    page = client.get("/login").get_data(as_text=True)
    urls = set(HASHED.findall(page))
    assert {re.sub(r"\.[0-9a-f]{12}", "", url) for url in urls} >= {
        "/static/css/app.css", "/static/js/htmx-2.0.11.min.js", "/static/js/app.js", "/static/icons/icon-192.png"}
    for url in urls:
        for accept, encoding in (("br", "br"), ("gzip, deflate, br", "br"), ("gzip, deflate", "gzip"),
                                 (None, None)):
            response = client.get(url, headers={"Accept-Encoding": accept} if accept else {})
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == IMMUTABLE
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            if url.endswith(".png"):  # already compressed: always sent as it is
                encoding = None
            else:
                assert "Accept-Encoding" in response.headers["Vary"]
            assert response.headers.get("Content-Encoding") == encoding, (url, accept)
            assert decoded(response) == source_of(url)


def test_the_plotly_bundle_is_sent_compressed(client, login_as):
    billed_customer(login_as, months=2)
    page = client.get("/usage").get_data(as_text=True)
    url = re.search(r'data-plotly="(/static/js/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js)"', page).group(1)
    plain = client.get(url)
    assert plain.headers.get("Content-Encoding") is None and len(plain.data) > 1_100_000
    smaller = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert smaller.headers["Content-Encoding"] == "br" and smaller.headers["Cache-Control"] == IMMUTABLE
    assert len(smaller.data) < 400_000 and brotli.decompress(smaller.data) == plain.data
    assert len(client.get(url, headers={"Accept-Encoding": "gzip"}).data) < 450_000


def test_plain_names_still_work_but_are_revalidated(client):
    """manifest.json names its icons plainly, and an old copy of a page may name any file so."""
    response = client.get("/static/js/htmx-2.0.11.min.js", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "public, no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/icons/icon-512.png").headers["Cache-Control"] == "public, no-cache"
    assert client.get("/static/js/app.0123456789ab.js").status_code == 404  # a version never built
    assert client.get("/static/no-such-file.js").status_code == 404


def test_the_service_worker_keeps_the_hashed_names(client):
    source = client.get("/service_worker.js").get_data(as_text=True)
    build = json.loads(source.split("\n", 1)[0].removeprefix("self.DTECH_BUILD = ").removesuffix(";"))
    # The pattern service_worker.js uses to keep a static file cache-first and to find any version of it offline.
    versioned = re.compile(re.search(r"const VERSIONED = /(.+)/;", source).group(1))
    from app.pwa.views import SHELL_FILES

    hashed = [url for url in build["shell"] if versioned.search(url)]
    assert [re.sub(r"\.[0-9a-f]{12}", "", url) for url in hashed] == [f"/static/{name}" for name in SHELL_FILES]
    for url in hashed:
        assert client.get(url).headers["Cache-Control"] == IMMUTABLE
    assert not versioned.search("/static/js/htmx-2.0.11.min.js")  # a plain name is never kept cache-first


def test_pages_are_compressed_when_asked(client, login_as):
    for accept, encoding, decompress in (("br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)):
        response = client.get("/login", headers={"Accept-Encoding": accept})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert b'<link rel="manifest"' in decompress(response.data)
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers and b'<link rel="manifest"' in plain.data
    assert "Accept-Encoding" in plain.headers["Vary"]  # a cache must not hand this copy to a browser that asked

    user, _account, _meter = billed_customer(login_as, months=3)
    page = client.get("/", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert page.headers["Content-Encoding"] == "br" and page.headers["X-DTech-Offline"]
    html = brotli.decompress(page.data)
    assert len(page.data) < len(html) / 2 and b"Amount due" in html
    assert {"HX-Request", "Cookie", "Accept-Encoding"} <= {v.strip() for v in page.headers["Vary"].split(",")}

    fragment = client.get("/bills?page=1", headers={"HX-Request": "true", "Accept-Encoding": "br"})
    assert fragment.status_code == 200 and fragment.headers["Content-Encoding"] == "br"  # htmx reads it decoded
    assert b"<html" not in decoded(fragment) and b"/bills/" in decoded(fragment)


def test_pdfs_are_sent_as_they_are(client, login_as):
    billed_customer(login_as, months=2)
    bill = db.session.scalars(select(Bill)).first()
    pdf = client.get(f"/bills/{bill.id}.pdf", headers={"Accept-Encoding": "gzip, br"})
    assert pdf.status_code == 200 and "Content-Encoding" not in pdf.headers and pdf.data.startswith(b"%PDF")


@pytest.fixture
def make_app(app):
    """A second app on the same database, built from `overrides`, with extra routes added before its first request."""
    made = []

    def make(**overrides):
        config = TestingConfig()
        config.SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        other = create_app(config, **overrides)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def test_tiny_and_streamed_bodies_are_not_compressed(make_app):
    other = make_app()

    @other.route("/tiny")
    def tiny():
        return "<p>ok</p>"

    @other.route("/streamed")
    def streamed():
        return Response(stream_with_context(iter(["<p>" + "x" * 2000 + "</p>"])), mimetype="text/html")

    from app.auth.access import mark_public

    mark_public(tiny)
    mark_public(streamed)
    client = other.test_client()
    for url in ("/tiny", "/streamed"):
        response = client.get(url, headers={"Accept-Encoding": "br, gzip"})
        assert response.status_code == 200 and "Content-Encoding" not in response.headers, url


def test_without_a_build_the_app_serves_static_as_it_is(make_app, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="app.web.static_files"):
        other = make_app(STATIC_BUILD_FOLDER=str(tmp_path / "never-built"))
    assert "No up-to-date static build" in caplog.text
    client = other.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/css/app.css">' in page
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.data == (ROOT / "static/css/app.css").read_bytes()
    assert "Content-Encoding" not in response.headers and "immutable" not in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    shell = client.get("/service_worker.js").get_data(as_text=True).split("\n", 1)[0]
    assert '"/static/css/app.css"' in shell


def test_the_build_hashes_names_compresses_text_and_knows_when_it_is_stale(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build" / "static"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: #0b5d6b; }\n" * 200)
    (source / "logo.png").write_bytes(b"\x89PNG fake" * 100)
    (source / ".hidden").write_text("never copied")
    names = static_files.build(source, target, quiet=True)
    assert names == {"css/site.css": static_files.hashed_name("css/site.css", (source / "css/site.css").read_bytes()),
                     "logo.png": static_files.hashed_name("logo.png", b"\x89PNG fake" * 100)}
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", names["css/site.css"])
    files = target / "files"
    for name in ("css/site.css", names["css/site.css"]):
        assert brotli.decompress((files / f"{name}.br").read_bytes()) == (source / "css/site.css").read_bytes()
        assert gzip.decompress((files / f"{name}.gz").read_bytes()) == (source / "css/site.css").read_bytes()
    assert not (files / "logo.png.br").exists() and not (files / ".hidden").exists()
    assert static_files.read_manifest(source, target) == names

    (source / "css" / "site.css").write_text("body { color: #f2b705; }\n" * 200)  # changed after the build
    assert static_files.read_manifest(source, target) is None
    static_files.build_if_stale(source, target)
    rebuilt = static_files.read_manifest(source, target)
    assert rebuilt["css/site.css"] != names["css/site.css"]  # a changed file gets a new URL
    # the previous build's URL still answers, for processes of the previous release until they restart
    assert (files / names["css/site.css"]).read_bytes() == b"body { color: #0b5d6b; }\n" * 200
    assert (files / f"{names['css/site.css']}.br").exists()
    (source / "new.js").write_text("console.log(1)")  # a file that came
    assert static_files.read_manifest(source, target) is None
    static_files.build_if_stale(source, target)
    assert not (files / names["css/site.css"]).exists()  # kept one build only
    assert (files / rebuilt["css/site.css"]).exists()
    (source / "new.js").unlink()  # and went
    assert static_files.read_manifest(source, target) is None


def test_static_files_need_no_sign_in(client, login_as):
    """Public for everyone, signed in or not: no redirect to /login and no personal cache rules."""
    url = HASHED.search(client.get("/login").get_data(as_text=True)).group(1)
    for who in ("nobody", "customer"):
        for path in (url, "/static/css/app.css"):
            response = client.get(path)
            assert response.status_code == 200 and "private" not in response.headers["Cache-Control"], (who, path)
        login_as("customer")
