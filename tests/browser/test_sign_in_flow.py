"""A customer on a 360 px phone: sign up, link, sign in, switch connections, sign out; and without JavaScript."""

import re

from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.browser.conftest import new_context

PHONE_NARROWEST = {"width": 320, "height": 640}


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def small_tap_targets(page) -> list[str]:
    """Visible buttons, inputs and nav links smaller than 48 px in either direction."""
    return page.evaluate("""() => [...document.querySelectorAll('button, input:not([type=hidden]), .nav a, .btn')]
        .filter(e => e.offsetParent !== null && !['radio', 'checkbox'].includes(e.type))
        .filter(e => { const r = e.getBoundingClientRect(); return r.height < 48 || r.width < 48; })
        .map(e => e.outerHTML.slice(0, 80))""")


def test_sign_in_switch_connection_and_sign_out(page, screenshot):
    user = factories.make_user(mobile="+919811111111", name="Asha Patil")
    home, shop = factories.make_account(), factories.make_account()
    factories.link(user, home)
    factories.link(user, shop)
    db.session.commit()

    page.goto("/")
    expect(page).to_have_url("/login?next=%2F")
    screenshot(page, "login-360")
    assert no_horizontal_scroll(page) and small_tap_targets(page) == []
    page.get_by_label("Mobile number or email").fill("98111 11111")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#conn-title")).to_have_text(home.consumer_number)
    screenshot(page, "home-360")
    assert no_horizontal_scroll(page) and small_tap_targets(page) == []

    page.get_by_role("button", name=shop.consumer_number).click()
    expect(page.locator("#conn-title")).to_have_text(shop.consumer_number)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/connections")
    expect(page).to_have_url("/login?next=%2Fconnections")


def last_code(outbox, to: str) -> str:
    """The code in the latest message to `to` (the server thread's memory sender)."""
    return re.match(r"(\d{6}) is ", [m for m in outbox if m.to == to][-1].body).group(1)


def test_register_verify_then_link_a_connection_by_a_code(page, screenshot, outbox):
    account = factories.make_account(registered_mobile="+919812345678")
    db.session.commit()
    page.goto("/register")
    page.get_by_label("Your name").fill("Ravi Kumar")
    page.get_by_label("Mobile number", exact=True).fill("12345")
    page.get_by_label("Password (at least 8 characters)").fill("monsoon-meter-42")
    page.get_by_label("Password again").fill("monsoon-meter-42")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Enter a 10-digit Indian mobile number")).to_be_visible()
    expect(page.get_by_text("Tick the box to agree to the privacy notice.")).to_be_visible()
    screenshot(page, "register-error-360")

    page.get_by_label("Mobile number", exact=True).fill("98765 43210")
    page.get_by_label("Password (at least 8 characters)").fill("monsoon-meter-42")
    page.get_by_label("Password again").fill("monsoon-meter-42")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Confirm your mobile number")).to_be_visible()
    expect(page.get_by_text("+91 98XXXXX210")).to_be_visible()
    screenshot(page, "register-confirm-360")
    assert no_horizontal_scroll(page)
    page.get_by_label("6-digit code").fill(last_code(outbox, "+919876543210"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Link a connection")).to_be_visible()

    page.get_by_label("Consumer number").fill(account.consumer_number)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Enter the code")).to_be_visible()
    expect(page.get_by_text("+91 98XXXXX678")).to_be_visible()
    code = last_code(outbox, "+919812345678")
    page.get_by_label("6-digit code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    screenshot(page, "link-code-error-360")
    assert no_horizontal_scroll(page)
    assert [t for t in small_tap_targets(page) if 'class="btn' in t or "<input" in t] == []  # this page's own

    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.locator("#conn-title")).to_have_text(account.consumer_number)
    assert "was linked to a D-Tech account" in outbox[-1].body


def test_everything_works_without_javascript_at_320_px(browser, live_server, csrf_on):
    user = factories.make_user(mobile="+919811111111")
    factories.link(user, factories.make_account())
    factories.link(user, factories.make_account())
    db.session.commit()
    context = new_context(browser, live_server, viewport=PHONE_NARROWEST, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    assert no_horizontal_scroll_without_js(page)
    page.fill("#login", "9811111111")
    page.fill("#password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#conn-title")).to_have_count(1)  # waits until the page after the redirect is parsed
    page.goto("/connections")
    page.click("text=Show this one")
    assert page.url.endswith("/")
    page.click("text=Sign out")
    assert "/login" in page.url
    context.close()


def no_horizontal_scroll_without_js(page) -> bool:
    # page.evaluate still works with page scripts disabled: it runs in Playwright's own world.
    return no_horizontal_scroll(page)


def test_htmx_sends_the_csrf_token_on_its_requests(page):
    factories.make_user(mobile="+919811111111")
    db.session.commit()
    page.goto("/login")
    page.wait_for_function("window.htmx !== undefined")
    status = page.evaluate("""() => new Promise(resolve => {
        document.body.addEventListener('htmx:afterRequest', e => resolve(e.detail.xhr.status), {once: true});
        htmx.ajax('POST', '/login', {source: document.body, values: {login: '9811111111', password: 'x'}});
    })""")
    assert status in (422, 302, 200)  # 400 would mean the CSRF header was missing
    assert status != 400
