"""The installable, offline-capable app in headless Chromium at 360 px, with its service worker running:
installability, the signed-in customer's pages offline (and nobody else's), the install button, photos made
smaller on the phone, and a meter reading queued offline that is recorded exactly once."""

import io
import re
import threading
import time
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.db import today_in_india
from app.extensions import db
from app.metering.models import Reading, ReadingSource
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, new_context
from tests.browser.test_customer_app import browser_user
from tests.functional.test_customer_pages import billed_customer

OFFLINE_TEXT = "You are offline. This page was last updated at "
QUEUED_TEXT = "Saved on this phone; it will be sent when you are back online."
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1")


@pytest.fixture
def sw_context(browser, live_server, csrf_on):
    """A fresh phone-sized context in which the service worker may run."""
    contexts = []

    def make(**options):
        context = new_context(browser, live_server, service_workers="allow", **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sw_page(sw_context):
    """A page in such a context; at the end, nothing may have been written to the console (pages or worker)."""
    context = sw_context()
    noise = []
    context.on("console", lambda message: noise.append(message.text)
               if message.type in ("error", "warning") else None)
    context.on("weberror", lambda error: noise.append(str(error.error)))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_noise = noise
    yield page
    assert noise == []


def customer(tariff, mobile: str, name: str):
    """A customer with one connection: a meter read a month ago and an issued bill."""
    user = factories.make_user(mobile=mobile, name=name)
    account = factories.make_account(tariff=tariff)
    factories.link(user, account)
    meter = factories.make_meter(account)
    today = today_in_india()
    factories.make_reading(meter, today - timedelta(days=60), "1000")
    factories.make_reading(meter, today - timedelta(days=30), "1150")
    bill = factories.make_bill(account, "1234.50", period_start=today - timedelta(days=60))
    return user, account, bill


def sign_in(page, user):
    page.goto("/login")
    page.fill("#login", user.mobile)
    page.fill("#password", factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#conn-title")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def under_service_worker(page):
    """Wait until the worker is active, then reload so that it controls the page."""
    state = page.evaluate("""() => navigator.serviceWorker.ready.then(({active}) => active.state === 'activated'
        ? active.state
        : new Promise(resolve => active.addEventListener('statechange', () => resolve(active.state))))""")
    assert state == "activated"
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


KEPT_PAGES = """async () => {
    const kept = [];
    for (const name of await caches.keys()) {
        if (!name.startsWith('dtech-pages-')) continue;
        for (const request of await (await caches.open(name)).keys()) kept.push(new URL(request.url).pathname);
    }
    return kept;
}"""


KEPT_DATE = """async () => {
    const name = (await caches.keys()).find(n => n.startsWith('dtech-pages-'));
    return (await (await caches.open(name)).match('/')).headers.get('Date');
}"""


def wait_until_kept(page, path: str):
    """The worker keeps a page once its body has arrived: wait for that before going offline."""
    deadline = time.monotonic() + 10
    while path not in page.evaluate(KEPT_PAGES):
        assert time.monotonic() < deadline, f"{path} was not kept: {page.evaluate(KEPT_PAGES)}"
        time.sleep(0.1)


def back_online(page):
    """Leave offline mode and wait until a request really reaches the server: Chromium lifts the emulation a
    moment later for the service worker, whose navigations would otherwise still fall back to the offline page."""
    page.context.set_offline(False)
    page.wait_for_function("() => fetch('/manifest.json', {cache: 'no-store'}).then(r => r.ok, () => false)")


def expect_offline_copy(page):
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(OFFLINE_TEXT + banner.get_attribute("data-rendered-at") + ".")


def expect_offline_page(page):
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()


def count_self_readings() -> int:
    db.session.commit()  # a new transaction sees what the server thread wrote
    return db.session.scalar(select(func.count(Reading.id)).where(Reading.source == ReadingSource.SELF))


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_manifest_and_service_worker_make_the_app_installable(browser, live_server, tmp_path):
    # A profile on disk: Chromium never offers to install from an incognito-like context.
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=PHONE,
        base_url=live_server, locale="en-IN", service_workers="allow")
    try:
        page = context.pages[0] if context.pages else context.new_page()
        with page.expect_response(lambda response: response.url.endswith("/manifest.json")) as manifest:
            page.goto("/login")
            page.evaluate("fetch('/manifest.json')")  # Chromium fetches it lazily; make sure it is served
        assert manifest.value.ok and manifest.value.json()["display"] == "standalone"
        under_service_worker(page)
        assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/service_worker.js")
        shell = page.evaluate("""async () => {
            const name = (await caches.keys()).find(n => n.startsWith('dtech-shell-'));
            return (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname);
        }""")
        unhashed = {re.sub(r"\.[0-9a-f]{12}(?=\.\w+$)", "", path) for path in shell}  # app.<hash>.css → app.css
        for path in ("/offline", "/static/css/app.css", "/static/js/htmx-2.0.11.min.js", "/static/js/app.js",
                     "/static/icons/icon-512.png", "/static/icons/icon-maskable-512.png"):
            assert path in unhashed
        cdp = context.new_cdp_session(page)
        manifest_info = cdp.send("Page.getAppManifest")
        assert manifest_info["url"].endswith("/manifest.json") and manifest_info["errors"] == []
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()


KEPT_STATIC = """async () => {
    const name = (await caches.keys()).find(n => n.startsWith('dtech-static-'));
    return name ? (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname) : [];
}"""


def test_the_plotly_bundle_is_kept_by_its_hashed_name_and_found_offline_by_its_plain_one(sw_context, login_as):
    user, _account, _meter = billed_customer(browser_user(login_as), months=13)
    page = sw_context().new_page()  # not sw_page: Plotly's inline styles meet the CSP in the console
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/usage")
    page.get_by_role("button", name="Explore the chart").click()
    expect(page.locator("#usage-plot svg.main-svg").first).to_be_attached(timeout=15_000)
    hashed = re.compile(r"/static/js/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js")
    wait_for(lambda: any(hashed.fullmatch(path) for path in page.evaluate(KEPT_STATIC)))
    page.context.set_offline(True)
    # A page kept before a new build names an older version (or, without a build, the plain name): the kept
    # copy of the file stands in for it.
    size = page.evaluate("""() => fetch('/static/js/plotly-basic-4.1.1.min.js')
        .then(response => response.ok ? response.arrayBuffer() : new ArrayBuffer(0)).then(body => body.byteLength)""")
    assert size == 1_191_749


def test_dashboard_and_latest_bill_are_readable_offline(sw_page, screenshot):
    user, account, bill = customer(factories.make_tariff(), "+919811111111", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    bill_url = page.locator("a[href^='/bills/']").first.get_attribute("href")
    assert bill_url == f"/bills/{bill.id}"
    page.goto(bill_url)
    wait_until_kept(page, bill_url)
    page.goto("/?source=home-screen")  # the home-screen start URL is the dashboard
    wait_until_kept(page, "/")
    # An htmx request for a fragment of the same URL is not a page: it never replaces the kept one.
    page.evaluate("fetch('/', {headers: {'HX-Request': 'true'}}).then(r => r.text())")

    page.context.set_offline(True)
    page.reload()
    expect_offline_copy(page)
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
    expect(page.locator("header.topbar")).to_be_visible()  # the whole page, not a fragment
    screenshot(page, "pwa-offline-dashboard-360")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(bill_url)
    expect_offline_copy(page)
    expect(page.get_by_text(bill.number).first).to_be_visible()
    screenshot(page, "pwa-offline-bill-360")

    page.goto("/usage?never=opened")  # not kept: the offline page, which holds nobody's data
    expect_offline_page(page)
    assert account.consumer_number not in page.content()
    screenshot(page, "pwa-offline-page-360")

    back_online(page)
    page.goto("/")
    expect(page.locator("#offline-banner")).to_be_hidden()  # back online: the live page, no banner


def test_a_hindi_customer_gets_the_offline_page_in_hindi_without_a_signed_out_header(sw_page):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111131", "Meena Iyer")
    user.locale = "hi_IN"
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/")
    wait_until_kept(page, "/")
    page.context.set_offline(True)
    page.goto("/usage?never=opened")
    expect(page.locator("h1[data-offline-page]")).to_have_text("आप ऑफ़लाइन हैं")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page.locator("header.topbar form")).to_have_count(0)  # no "sign in" language switch for a signed-in user


def test_a_dashboard_opened_before_the_worker_was_there_is_kept_too(sw_page):
    user, account, _bill = customer(factories.make_tariff(), "+919811111124", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.evaluate("""async () => {
        await (await navigator.serviceWorker.getRegistration()).unregister();
        for (const name of await caches.keys()) await caches.delete(name);
    }""")
    page.goto("/")  # signed in, and no worker yet: it installs while this page is open
    assert page.evaluate("navigator.serviceWorker.controller") is None
    wait_until_kept(page, "/")
    page.context.set_offline(True)
    page.reload()
    expect_offline_copy(page)
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)


def test_a_page_that_is_too_slow_comes_from_the_phone_and_is_then_refreshed(sw_page, app, monkeypatch):
    monkeypatch.setitem(app.config, "PWA_SLOW_PAGE_MS", 3000)  # the product's wait (the suite's is longer)
    user, account, _bill = customer(factories.make_tariff(), "+919811111112", "Ravi Kumar")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    wait_until_kept(page, "/")
    first_copy = page.evaluate(KEPT_DATE)

    original = app.wsgi_app
    release = threading.Event()

    def held(environ, start_response):
        if environ["PATH_INFO"] == "/" and environ["REQUEST_METHOD"] == "GET":
            release.wait(30)  # the network answers only when the test says so
        return original(environ, start_response)

    app.wsgi_app = held
    try:
        page.goto("/")
        # Shown while the server has not answered at all: it can only be the copy on the phone.
        expect_offline_copy(page)
        assert not release.is_set()
        expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
        # The slow page arrives after all and replaces the kept copy.
        release.set()
        wait_for(lambda: page.evaluate(KEPT_DATE) != first_copy, 10)
    finally:
        release.set()
        app.wsgi_app = original


def test_when_the_server_is_down_the_kept_copy_is_shown(sw_page, app):
    user, account, _bill = customer(factories.make_tariff(), "+919811111125", "Ravi Kumar")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    wait_until_kept(page, "/")
    original = app.wsgi_app

    def down(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"down for maintenance"]

    app.wsgi_app = down
    try:
        page.goto("/")
        expect_offline_copy(page)
        expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
        page.goto("/usage?never=opened")  # nothing kept: the server's own answer
        expect(page.get_by_text("down for maintenance")).to_be_visible()
    finally:
        app.wsgi_app = original
    # The browser reports the 503s; that is what they were.
    page.console_noise[:] = [text for text in page.console_noise if "status of 503" not in text]


def test_after_signing_out_nothing_of_the_user_is_shown_offline(sw_page):
    user, account, bill = customer(factories.make_tariff(), "+919811111113", "Meena Das")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto(f"/bills/{bill.id}")
    wait_until_kept(page, f"/bills/{bill.id}")
    page.goto("/")
    wait_until_kept(page, "/")

    sign_out(page)
    assert page.evaluate(KEPT_PAGES) == []
    page.context.set_offline(True)
    for url in ("/", f"/bills/{bill.id}", "/?source=home-screen"):
        page.goto(url)
        expect_offline_page(page)
        html = page.content()
        assert account.consumer_number not in html and bill.number not in html and "Meena" not in html


def test_the_next_person_on_a_shared_phone_never_gets_the_previous_ones_pages(sw_page):
    tariff = factories.make_tariff()
    asha, asha_account, asha_bill = customer(tariff, "+919811111114", "Asha Patil")
    ravi, ravi_account, _ravi_bill = customer(tariff, "+919811111115", "Ravi Kumar")
    db.session.commit()
    page = sw_page

    sign_in(page, asha)
    under_service_worker(page)
    page.goto(f"/bills/{asha_bill.id}")
    wait_until_kept(page, f"/bills/{asha_bill.id}")
    page.goto("/")
    wait_until_kept(page, "/")
    sign_out(page)

    sign_in(page, ravi)
    wait_until_kept(page, "/")
    page.context.set_offline(True)
    page.reload()
    expect_offline_copy(page)
    expect(page.locator("#conn-title")).to_have_text(ravi_account.consumer_number)
    assert asha_account.consumer_number not in page.content()
    page.goto(f"/bills/{asha_bill.id}")
    expect_offline_page(page)
    assert asha_bill.number not in page.content() and asha_account.consumer_number not in page.content()


def test_a_session_that_ended_without_signing_out_leaves_nothing_for_the_next_person(sw_page):
    tariff = factories.make_tariff()
    asha, asha_account, asha_bill = customer(tariff, "+919811111116", "Asha Patil")
    ravi, ravi_account, _bill = customer(tariff, "+919811111117", "Ravi Kumar")
    db.session.commit()
    page = sw_page
    sign_in(page, asha)
    under_service_worker(page)
    # Every page the dashboard asks to keep: a warm-up still in flight would bring her session cookie back.
    for path in ("/", "/readings/new", f"/bills/{asha_bill.id}"):
        wait_until_kept(page, path)
    page.context.clear_cookies()  # the session ended (expired, or signed out on another device)

    page.goto("/")  # → the sign-in page: the worker forgets Asha's pages
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    wait_for(lambda: page.evaluate(KEPT_PAGES) == [])
    page.context.set_offline(True)
    page.goto("/")
    expect_offline_page(page)
    assert asha_account.consumer_number not in page.content()

    back_online(page)
    sign_in(page, ravi)
    expect(page.locator("#conn-title")).to_have_text(ravi_account.consumer_number)


def test_install_button_appears_with_the_browser_prompt(sw_page, screenshot):
    page = sw_page
    page.goto("/login")
    expect(page.locator("#install-app")).to_be_hidden()
    expect(page.locator("#ios-install-hint")).to_be_hidden()  # not on Android
    page.evaluate("""() => {
        const event = new Event('beforeinstallprompt', {cancelable: true});
        event.prompt = () => { window.prompted = (window.prompted || 0) + 1; return Promise.resolve(); };
        event.userChoice = Promise.resolve({outcome: 'accepted'});
        window.dispatchEvent(event);
    }""")
    button = page.get_by_role("button", name="Install the app")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 300
    page.locator("footer").scroll_into_view_if_needed()
    screenshot(page, "pwa-install-button-360")
    button.click()
    assert page.evaluate("window.prompted") == 1
    expect(button).to_be_hidden()


def test_ios_safari_gets_the_add_to_home_screen_hint(sw_context, live_server, screenshot):
    page = sw_context(user_agent=IPHONE_SAFARI, is_mobile=True, has_touch=True).new_page()
    page.goto("/login")
    expect(page.get_by_text("To install: tap Share, then “Add to Home Screen”.")).to_be_visible()
    expect(page.locator("#install-app")).to_be_hidden()
    screenshot(page, "pwa-ios-hint-360")


def meter_photo(width=3000, height=2250) -> bytes:
    """A phone-camera-sized JPEG of a meter display (a few hundred KB and more)."""
    picture = Image.effect_noise((width, height), 24).convert("RGB")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((width // 5, height // 3, width * 4 // 5, height * 2 // 3), fill=(20, 40, 30))
    for n in range(5):
        x = width // 5 + 60 + n * (width * 3 // 25)
        draw.rectangle((x, height // 3 + 60, x + width // 12, height * 2 // 3 - 60), outline=(90, 240, 120), width=25)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=92)
    return out.getvalue()


def test_a_photo_is_made_smaller_on_the_phone_before_upload(sw_page):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111118", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    page.goto("/readings/new")
    original = meter_photo()
    assert len(original) > 1_000_000
    page.set_input_files("input[type=file][data-shrink]",
                        files=[{"name": "IMG_2041.JPG", "mimeType": "image/jpeg", "buffer": original}])
    page.wait_for_function("() => document.querySelector('input[data-shrink]').files[0].name === 'IMG_2041.jpg'")
    shrunk = page.evaluate("""async () => {
        const file = document.querySelector('input[data-shrink]').files[0];
        const image = await createImageBitmap(file);
        return {type: file.type, size: file.size, width: image.width, height: image.height};
    }""")
    assert shrunk["type"] == "image/jpeg" and shrunk["size"] <= 200 * 1024
    assert (shrunk["width"], shrunk["height"]) == (1280, 960)

    # Something that is not an image the browser can decode is sent as it is (the server says what is wrong).
    page.set_input_files("input[type=file][data-shrink]",
                        files=[{"name": "scan.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"x" * 300_000}])
    page.wait_for_timeout(500)
    assert page.evaluate("document.querySelector('input[data-shrink]').files[0].size") == 300_002


def small_photo() -> dict:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 60, 40)).save(out, format="PNG")
    return {"name": "meter.png", "mimeType": "image/png", "buffer": out.getvalue()}


class BackgroundSync:
    """Fires the worker's Background Sync event through the DevTools protocol, as the browser does on reconnecting.
    (Chromium reports the worker's registration only to a session that listened before it was made.)"""

    def __init__(self, page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.registrations = {}
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: self.registrations.update(
            {r["scopeURL"]: r for r in event["registrations"] if not r["isDeleted"]}))
        self.cdp.send("ServiceWorker.enable")

    def fire(self, tag="dtech-readings"):
        wait_for(lambda: self.registrations, 5)
        registration = next(iter(self.registrations.values()))
        self.cdp.send("ServiceWorker.dispatchSyncEvent", {
            "origin": registration["scopeURL"].rstrip("/"), "registrationId": registration["registrationId"],
            "tag": tag, "lastChance": False})


def test_a_reading_made_offline_is_queued_then_recorded_exactly_once(sw_page, screenshot):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111119", "Asha Patil")
    db.session.commit()
    page = sw_page
    background_sync = BackgroundSync(page)
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/readings/new")
    wait_until_kept(page, "/readings/new")
    rendered_key = page.input_value("input[name=idempotency_key]")

    page.context.set_offline(True)
    page.reload()  # the reading page kept on the phone, opened offline
    expect_offline_copy(page)
    key = page.input_value("input[name=idempotency_key]")
    assert key != rendered_key and len(key) == 32  # a copy's key would be shared by every reading made from it
    page.fill("input[name=value]", "1190")
    page.set_input_files("input[type=file][data-shrink]", files=[small_photo()])
    page.get_by_role("button", name="Send the reading").click()
    expect(page.get_by_text(QUEUED_TEXT)).to_be_visible()
    screenshot(page, "pwa-reading-queued-360")
    assert page.input_value("input[name=value]") == ""  # the form is ready for another one
    assert page.input_value("input[name=idempotency_key]") not in (key, "")
    assert count_self_readings() == 0

    # The app closed (a blank tab stays open for the DevTools session), then back online: only Background Sync
    # can send it now. It fires twice.
    page.goto("about:blank")
    page.context.set_offline(False)
    background_sync.fire()
    background_sync.fire()
    wait_for(lambda: count_self_readings() == 1)

    # Opening the app again: it says the reading was sent; the `online` path and a manual flush send nothing more.
    page.goto("/readings/new")
    expect(page.get_by_text("Your meter reading has been sent.")).to_be_visible()
    screenshot(page, "pwa-reading-sent-360")
    page.context.set_offline(True)
    page.context.set_offline(False)  # the `online` event: app.js asks the worker to send the queue
    page.evaluate("navigator.serviceWorker.controller.postMessage({t: 'flush'})")
    page.wait_for_timeout(500)
    assert count_self_readings() == 1

    # The very same reading sent once more (a retry after a lost answer): recorded once, answered 200.
    again = page.evaluate("""async (key) => {
        const form = document.querySelector('form[data-offline-queue]');
        const body = new FormData(form);
        body.set('value', '1190');
        body.set('idempotency_key', key);
        body.set('photo', new File([new Uint8Array(await (await fetch('/static/icons/icon-192.png')).arrayBuffer())],
                                   'meter.png', {type: 'image/png'}));
        const response = await fetch(form.action, {method: 'POST', body, headers: {
            'Accept': 'application/json', 'X-CSRFToken': body.get('csrf_token')}});
        return [response.status, await response.json()];
    }""", key)
    assert again[0] == 200 and again[1]["url"].startswith("/readings/")
    time.sleep(1)
    assert count_self_readings() == 1
    reading = db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF))
    assert reading.idempotency_key == key and str(reading.value) in ("1190", "1190.000")
    wait_for(lambda: queued_count(page) == 0)


@pytest.fixture
def posts(app):
    """The paths of the POST requests the server receives, in order."""
    seen, original = [], app.wsgi_app

    def record(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            seen.append(environ["PATH_INFO"])
        return original(environ, start_response)

    app.wsgi_app = record
    yield seen
    app.wsgi_app = original


def test_a_queued_reading_the_server_refuses_is_shown_as_failed_and_not_retried(sw_page, posts, screenshot):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111120", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/readings/new")
    page.context.set_offline(True)
    page.fill("input[name=value]", "900")  # lower than the last reading (1150), rollover not ticked
    page.set_input_files("input[type=file][data-shrink]", files=[small_photo()])
    page.get_by_role("button", name="Send the reading").click()
    expect(page.get_by_text(QUEUED_TEXT)).to_be_visible()

    page.context.set_offline(False)
    failed = page.locator(".queue-status.is-failed")
    expect(failed).to_contain_text("Your meter reading could not be recorded:")
    expect(failed).to_contain_text("lower than the last reading")
    screenshot(page, "pwa-reading-failed-360")
    page.reload()
    expect(failed).to_contain_text("lower than the last reading")  # still there on the next page…
    page.evaluate("navigator.serviceWorker.controller.postMessage({t: 'flush'})")
    page.context.set_offline(True)
    page.context.set_offline(False)  # another `online` event
    page.wait_for_timeout(1000)
    assert posts.count("/readings/new") == 1  # …but never sent again
    failed.get_by_role("button", name="Remove").click()
    expect(page.locator("#queue-status")).to_be_hidden()
    assert count_self_readings() == 0


def test_an_online_reading_goes_straight_through_or_shows_what_to_fix(sw_page):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111121", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/readings/new")
    page.fill("input[name=value]", "twelve")
    page.set_input_files("input[type=file][data-shrink]", files=[small_photo()])
    page.get_by_role("button", name="Send the reading").click()
    expect(page.locator(".queue-status.is-failed")).to_contain_text("Type the number on the meter")
    # …and at the field itself, as without JavaScript: the message, and the field marked for screen readers.
    expect(page.locator(".field-invalid #value-errors")).to_contain_text("Type the number on the meter")
    assert page.get_attribute("#value", "aria-invalid") == "true"
    assert page.get_attribute("#value", "aria-describedby") == "value-errors"
    assert page.url.endswith("/readings/new") and page.input_value("input[name=value]") == "twelve"
    page.fill("input[name=value]", "1180")
    page.get_by_role("button", name="Send the reading").click()
    page.wait_for_url(re.compile(r"/readings/\d+$"))
    assert count_self_readings() == 1


def queued_count(page) -> int:
    return page.evaluate("""() => new Promise(resolve => {
        const open = indexedDB.open('dtech');
        open.onsuccess = () => open.result.transaction('readings').objectStore('readings').count().onsuccess =
            e => { resolve(e.target.result); open.result.close(); };
    })""")


def test_queued_readings_leave_the_phone_when_their_user_signs_out(sw_page):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111122", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/readings/new")
    page.context.set_offline(True)
    page.fill("input[name=value]", "1190")
    page.set_input_files("input[type=file][data-shrink]", files=[small_photo()])
    page.get_by_role("button", name="Send the reading").click()
    expect(page.get_by_text(QUEUED_TEXT)).to_be_visible()
    assert queued_count(page) == 1
    # Signing out while offline: the server cannot hear it yet, but the phone forgets this user at once.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_timeout(1000)
    page.context.set_offline(False)
    page.goto("/connections")  # still signed in on the server: nothing queued is left to send
    assert queued_count(page) == 0
    page.wait_for_timeout(1000)
    assert count_self_readings() == 0


def test_a_queued_reading_whose_token_went_stale_is_sent_with_a_fresh_one(sw_page, posts):
    user, _account, _bill = customer(factories.make_tariff(), "+919811111123", "Asha Patil")
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.goto("/readings/new")
    page.context.set_offline(True)
    page.fill("input[name=value]", "1190")
    page.set_input_files("input[type=file][data-shrink]", files=[small_photo()])
    page.locator("form[data-offline-queue] input[name=csrf_token]").evaluate("input => { input.value = 'stale'; }")
    page.get_by_role("button", name="Send the reading").click()
    expect(page.get_by_text(QUEUED_TEXT)).to_be_visible()
    page.context.set_offline(False)
    expect(page.get_by_text("Your meter reading has been sent.")).to_be_visible()
    assert count_self_readings() == 1
    assert posts.count("/readings/new") == 2  # refused (400), then sent again with a token from a fresh page


def test_the_latest_bill_and_the_reading_form_are_kept_without_a_visit(sw_page):
    user, account, bill = customer(factories.make_tariff(), "+919811111188", "Ravi Kumar")
    factories.make_meter(account)
    db.session.commit()
    page = sw_page
    sign_in(page, user)
    under_service_worker(page)
    page.reload()  # a controlled load: the dashboard tells the worker what to keep
    wait_until_kept(page, f"/bills/{bill.id}")
    wait_until_kept(page, "/readings/new")
    page.context.set_offline(True)
    page.goto(f"/bills/{bill.id}")
    expect_offline_copy(page)
    expect(page.get_by_text(bill.number).first).to_be_visible()
    page.goto("/readings/new")
    expect_offline_copy(page)
    expect(page.locator("form[data-offline-queue]")).to_be_visible()
