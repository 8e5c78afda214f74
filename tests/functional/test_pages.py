import gzip
import json
import re

from tests import factories


def test_login_page_is_a_mobile_page_with_htmx_and_no_cdn(client):
    response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert re.search(r'<script src="/static/js/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js" defer>', page)  # hashed name
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert '<link rel="manifest" href="/manifest.json">' in page


def test_vendored_htmx_is_version_2_0(client):
    script = client.get("/static/js/htmx-2.0.11.min.js").get_data(as_text=True)
    assert 'version:"2.0.11"' in script.replace(" ", "")


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"  # sign-in pages are never kept


def test_customer_pages_vary_on_htmx_and_may_be_kept_offline_for_their_user(client, login_as):
    user = login_as("customer")
    factories.link(user, factories.make_account())
    from app.extensions import db

    db.session.commit()
    response = client.get("/")
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "HX-Request" in response.headers["Vary"]
    assert len(response.headers["X-DTech-Offline"]) == 24
    assert "X-DTech-Offline" not in client.get("/", headers={"HX-Request": "true"}).headers


def test_error_pages_share_the_design(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "We could not find that page." in page and 'class="topbar"' in page


def test_forbidden_page(client, login_as):
    login_as("customer")
    response = client.get("/styleguide")
    assert response.status_code == 403
    assert "You do not have access to this page." in response.get_data(as_text=True)


def test_server_error_page_hides_the_details(app, client, login_as, monkeypatch):
    import app.staff.views as views

    login_as("admin")

    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(views, "_count", broken)
    response = client.get("/staff")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "hunter2" not in page


def test_styleguide_shows_every_component(client, login_as):
    login_as("admin")
    page = client.get("/styleguide").get_data(as_text=True)
    for marker in ['class="amount', 'class="chip chip-overdue"', 'class="alert alert-error"', 'class="btn btn-primary"',
                   'class="card bill-card"', 'class="tile"', 'class="row payment-row"', 'class="field field-invalid"',
                   'class="nav"']:
        assert marker in page, marker
    assert "₹1,23,456.78" in page  # Indian digit grouping


def test_amounts_use_indian_grouping(app):
    from app.i18n import inr

    with app.test_request_context():
        assert inr("123456.78") == "₹1,23,456.78"
        assert inr("1234567.5") == "₹12,34,567.50"
        assert inr(0) == "₹0.00"


def test_manifest_and_service_worker_are_served_from_the_root(client):
    manifest = client.get("/manifest.json")
    assert manifest.mimetype == "application/manifest+json"
    data = json.loads(manifest.get_data())
    assert data["start_url"].startswith("/") and data["scope"] == "/" and data["display"] == "standalone"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in data["icons"]}
    assert any(icon["purpose"] == "maskable" for icon in data["icons"])
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get("/service_worker.js")
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert client.get("/offline").status_code == 200


def test_signed_in_customer_home_is_light(client, login_as):
    user = login_as("customer")
    factories.link(user, factories.make_account())
    from app.extensions import db

    db.session.commit()
    page = client.get("/").get_data()
    assert len(gzip.compress(page)) < 4_000
