"""A customer on a 360 px phone: dashboard → bill → PDF, a reading with a photo, the usage chart, Hindi."""

import io

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.metering.models import Reading, ReadingSource
from tests import factories
from tests.functional.test_customer_pages import billed_customer


def sign_in(page, user):
    page.goto("/login")
    page.fill("#login", user.mobile)
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")


def browser_user(login_as):
    """billed_customer() wants a login_as; the browser signs in by itself, so this one only makes the user."""
    def make(role="customer", **fields):
        user = factories.make_user(role=role, **fields)
        db.session.commit()
        return user

    return make


def test_dashboard_bill_and_pdf(page, login_as, screenshot):
    user, account, _meter = billed_customer(browser_user(login_as), months=3)
    sign_in(page, user)
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
    expect(page.get_by_text("Amount due")).to_be_visible()
    screenshot(page, "dashboard-360-en")
    page.locator("a[href^='/bills/']").first.click()
    expect(page.get_by_role("heading", name="Charges this period")).to_be_visible()
    screenshot(page, "bill-360-en")
    with page.expect_download() as download:
        page.evaluate("""() => { const a = document.querySelector("a[href$='.pdf']");
                                  a.setAttribute('download', 'bill.pdf'); a.click(); }""")
    assert download.value.path().read_bytes().startswith(b"%PDF")


def test_submit_a_reading_with_a_photo(page, login_as, tmp_path, screenshot):
    user, _account, _meter = billed_customer(browser_user(login_as), months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    picture = tmp_path / "meter.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1800), (180, 200, 220)).save(buffer, format="JPEG", quality=95)
    picture.write_bytes(buffer.getvalue())
    sign_in(page, user)
    page.goto("/readings/new")
    page.fill("#value", str(last.value + 35))
    page.set_input_files("#photo", str(picture))
    screenshot(page, "reading-360-en")
    page.get_by_role("button", name="Send the reading").click()
    expect(page.get_by_text("is recorded")).to_be_visible()
    expect(page.get_by_role("heading", name="Your estimated bill")).to_be_visible()
    db.session.commit()
    assert db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF)).value == last.value + 35


def test_usage_chart_draws(page, login_as, screenshot):
    user, _account, _meter = billed_customer(browser_user(login_as), months=13)
    sign_in(page, user)
    page.goto("/usage")
    expect(page.locator("svg.bars")).to_be_visible()  # the server's SVG paints first
    assert not page.evaluate("'Plotly' in window")  # Plotly is not loaded until asked for
    page.get_by_role("button", name="Explore the chart").click()
    expect(page.locator("#usage-plot svg.main-svg").first).to_be_attached(timeout=15_000)  # then Plotly draws
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "usage-360-en")
    page.click(".toggle [data-measure=amount]")
    expect(page.locator(".toggle [data-measure=amount]")).to_have_class("pill pill-active")


def test_switching_to_hindi(page, login_as, screenshot):
    user, _account, _meter = billed_customer(browser_user(login_as), months=2)
    sign_in(page, user)
    page.goto("/profile")
    page.check("input[value=hi_IN]")
    page.locator("form[action='/language'] button").click()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    screenshot(page, "dashboard-360-hi")
