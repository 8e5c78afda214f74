"""English and Hindi: a complete catalogue that matches the sources, the language choice remembered, and Indian
formats for money and dates in both languages."""

import io
import json
import os
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale
from PIL import Image
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.i18n import TRANSLATIONS_DIR, indian_date, indian_time, inr, month_label, quantity
from tests import factories
from tests.functional.test_bill_pages import billed_connection

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po"))
# As `make translations-update` extracts (Makefile: EXTRACT_OPTIONS).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[-#0 +]*\d*[diouxXeEfFgGcrsa%]"
                         r"|\{[A-Za-z_]\w*\}")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
DEVANAGARI_DIGITS = re.compile(r"[०-९]")


def read_catalogue(path: Path):
    with path.open("rb") as source:
        return read_po(source, locale=path.parts[-3])


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_there_is_a_hindi_catalogue():
    assert [path.parts[-3] for path in CATALOGUES] == ["hi_IN"]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parts[-3])
def test_every_message_is_translated_with_the_same_placeholders(path):
    catalog = read_catalogue(path)
    assert not catalog.fuzzy, f"{path}: the header is marked fuzzy, so the compiler would skip the whole catalogue"
    problems = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        for string in strings:
            if not string:
                problems.append(f"untranslated: {msgid!r}")
            elif placeholders(string) != placeholders(msgid):
                problems.append(f"placeholders differ: {msgid!r} → {string!r}")
            elif DEVANAGARI_DIGITS.search(string):
                problems.append(f"numbers are written with Latin digits: {string!r}")
            elif "D-Tech" in msgid and "D-Tech" not in string:
                problems.append(f"the brand stays D-Tech: {string!r}")
        problems += [f"{error}: {msgid!r}" for error in message.check(catalog)]
    assert not problems, "\n".join(problems)


def test_the_hindi_catalogue_is_in_hindi():
    catalog = read_catalogue(TRANSLATIONS_DIR / "hi_IN" / "LC_MESSAGES" / "messages.po")
    messages = [m for m in catalog if m.id]
    forms = {m.id: m.string if isinstance(m.string, tuple) else (m.string,) for m in messages}  # plurals: tuples
    in_devanagari = [m for m in messages if all(DEVANAGARI.search(form) for form in forms[m.id])]
    # Only names that stay as they are (UPI) may keep the English.
    assert len(in_devanagari) >= len(messages) - 3, [m.id for m in messages if m not in in_devanagari]


def extracted_msgids() -> dict[str, str]:
    """Every text the sources mark for translation, found the way `make translations-update` finds them."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)

    def wanted(directory: str) -> bool:  # as --ignore-dirs='.* __pycache__ node_modules': _macros is included
        name = os.path.basename(directory)
        return not (name.startswith(".") or name in ("__pycache__", "node_modules"))

    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=wanted):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_extraction_finds_the_templates_forms_and_pdf_labels():
    found = extracted_msgids()
    for msgid in ("Sign in", "Please correct the marked fields.", "Pending confirmation", "Consumer number",
                  "Please fill this in.", "Electricity bill", "Energy charges", "We could not find that page."):
        assert msgid in found, msgid


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.parts[-3])
def test_every_text_in_the_sources_is_in_the_catalogue(path):
    catalogued = {m.id if isinstance(m.id, str) else m.id[0] for m in read_catalogue(path) if m.id}
    missing = {msgid: where for msgid, where in extracted_msgids().items() if msgid not in catalogued}
    assert not missing, ("Not in the catalogue (run `make translations-update`, then translate them):\n"
                         + "\n".join(f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items())))


def test_compiled_catalogue_is_up_to_date():
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is missing or stale"


# --- the language choice ---


def sign_in(client, user):
    response = client.post("/login", data={"login": user.mobile, "password": factories.PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def billed_customer(login_as):
    user = login_as("customer")
    account, bill = billed_connection()
    factories.link(user, account)
    db.session.commit()
    return user, bill


def test_a_customer_switches_to_hindi_and_it_is_remembered(app, client, login_as):
    user, bill = billed_customer(login_as)
    assert '<html lang="en">' in page(client, "/")

    response = client.post("/language", data={"language": "hi_IN", "next": "/profile"})
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    assert db.session.get(User, user.id).locale == "hi_IN"

    profile = page(client, "/profile")
    assert '<html lang="hi">' in profile
    for words in ("प्रोफ़ाइल", "भाषा", "पासवर्ड बदलें", "साइन आउट", "पेपरलेस बिल"):
        assert words in profile, words
    home = page(client, "/")
    for words in ("कुल देय राशि", "बिल", "खपत", "बकाया", "₹2,424.12"):
        assert words in home, words
    assert "Amount due" not in home
    bill_page = page(client, f"/bills/{bill.id}")
    due = indian_date_in(bill.due_date, "hi_IN")
    for words in ("देय तिथि", "उपभोक्ता संख्या", "ऊर्जा शुल्क", "विद्युत शुल्क 16%", "₹2,424.12", due,
                  "कुल देय राशि", "आपका खाता"):
        assert words in bill_page, words
    assert "Energy charges" not in bill_page

    # Signed out, the sign-in page stays in Hindi; signed in again (here or on another phone), so is everything.
    client.post("/logout")
    login = page(client, "/login")
    assert '<html lang="hi">' in login and "साइन इन करें" in login
    sign_in(client, user)
    assert "कुल देय राशि" in page(client, "/")
    other_phone = app.test_client()
    assert '<html lang="en">' in page(other_phone, "/login")
    sign_in(other_phone, user)
    assert '<html lang="hi">' in page(other_phone, "/")


def test_a_visitor_switches_the_sign_in_page_to_hindi(client):
    english = page(client, "/login")
    assert '<html lang="en">' in english and "Sign in" in english
    assert 'value="hi_IN"' in english and 'value="हिंदी"' in english  # the switch, named in its own script

    response = client.post("/language", data={"language": "hi_IN", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    hindi = page(client, "/login")
    assert '<html lang="hi">' in hindi
    for words in ("साइन इन करें", "मोबाइल नंबर या ईमेल", "पासवर्ड", "पासवर्ड भूल गए?", "खाता बनाएँ"):
        assert words in hindi, words
    assert 'value="English"' in hindi
    # The choice holds for the other signed-out pages, and their form errors speak Hindi too.
    assert "खाता बनाएँ" in page(client, "/register")
    refused = client.post("/login", data={"login": "", "password": ""}).get_data(as_text=True)
    assert "कृपया यह भरें।" in refused and "कृपया चिह्नित जानकारी ठीक करें।" in refused

    client.post("/language", data={"language": "en_IN", "next": "/login"})
    assert "Sign in" in page(client, "/login")


def test_a_language_picked_before_signing_in_is_kept_on_the_account(client):
    user = factories.make_user()
    db.session.commit()
    client.post("/language", data={"language": "hi_IN", "next": "/login"})
    sign_in(client, user)
    assert db.session.get(User, user.id).locale == "hi_IN"
    assert '<html lang="hi">' in page(client, "/connections")


def test_an_account_language_is_not_changed_by_a_page_shown_in_the_browsers_language(client):
    user = factories.make_user(locale="hi_IN")
    db.session.commit()
    assert '<html lang="en">' in page(client, "/login")  # the browser asked for nothing: English
    sign_in(client, user)
    assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "hi_IN"
    assert '<html lang="hi">' in page(client, "/connections")


def test_the_browsers_language_is_the_default_for_visitors(client):
    response = client.get("/login", headers={"Accept-Language": "hi-IN,hi;q=0.9,en;q=0.8"})
    assert '<html lang="hi">' in response.get_data(as_text=True)
    response = client.get("/login", headers={"Accept-Language": "en-IN,en;q=0.9"})
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_an_unknown_language_is_refused(client, login_as):
    user = login_as("customer")
    client.post("/language", data={"language": "fr_FR"})
    assert db.session.get(User, user.id).locale == "en_IN"


def test_error_pages_speak_the_visitors_language(client):
    client.post("/language", data={"language": "hi_IN"})
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "यह पेज नहीं मिला।" in response.get_data(as_text=True)


def test_the_password_reset_message_is_in_the_users_language(client, outbox):
    user = factories.make_user(locale="hi_IN", email="asha@example.com")
    db.session.commit()
    client.post("/forgot", data={"login": "asha@example.com"})  # asked from an English page
    (message,) = outbox
    assert "पासवर्ड" in message.subject and "मिनट के अंदर यह लिंक खोलें" in message.body
    assert "/reset?token=" in message.body and message.to == user.email


def test_a_meter_reading_refusal_is_in_hindi(client, login_as):
    user, _bill = billed_customer(login_as)
    client.post("/language", data={"language": "hi_IN"})
    response = client.post("/readings/new", data={"value": "12", "idempotency_key": "lower-than-last-1",
                                                  "photo": (jpeg(), "meter.jpg")},
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "यह पिछली रीडिंग" in text
    assert indian_date_in(date(2024, 11, 5), "hi_IN") in text and "1,221" in text  # the last reading, in Hindi


def jpeg() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 200, 200)).save(buffer, format="JPEG")
    buffer.seek(0)
    return buffer


# --- money and dates ---


def indian_date_in(value: date, locale: str) -> str:
    return format_date(value, "d MMM yyyy", locale=locale)


@pytest.mark.parametrize("locale", ["en_IN", "hi_IN"])
def test_amounts_are_grouped_the_indian_way_in_both_languages(app, locale):
    with app.test_request_context(), force_locale(locale):
        assert inr(Decimal("123456.78")) == "₹1,23,456.78"
        assert inr(Decimal("9876543.21")) == "₹98,76,543.21"
        assert inr(Decimal("1520")) == "₹1,520.00"
        assert inr(Decimal("-250.5")) == "-₹250.50"
        assert inr(0) == "₹0.00"
        assert inr(None) == "—"
        assert quantity(Decimal("1234567.5")) == "12,34,567.5"
        assert quantity(Decimal("221.000")) == "221"


def test_dates_are_day_month_year_with_the_month_in_the_language(app):
    day = date(2026, 11, 24)
    with app.test_request_context():
        with force_locale("en_IN"):
            assert indian_date(day) == "24 Nov 2026"
            assert indian_date(day, "long") == "24 November 2026"
            assert indian_date(day, "short") == "24/11/2026"
            assert month_label(day) == "Nov 2026"
            assert indian_time(datetime(2026, 11, 24, 8, 35, tzinfo=UTC)) == "14:05 IST, 24 Nov 2026"
        with force_locale("hi_IN"):
            assert indian_date(day) == "24 नव॰ 2026"
            assert indian_date(day, "long") == "24 नवंबर 2026"
            assert indian_date(day, "short") == "24/11/2026"
            assert month_label(date(2026, 3, 31)) == "मार्च 2026"
            assert indian_time(datetime(2026, 11, 24, 8, 35, tzinfo=UTC)) == "14:05 IST, 24 नव॰ 2026"


def test_the_hindi_bill_page_shows_indian_amounts_and_hindi_dates(client, login_as):
    _user, bill = billed_customer(login_as)
    english = page(client, f"/bills/{bill.id}")
    assert indian_date_in(bill.due_date, "en_IN") in english and "₹2,424.12" in english
    client.post("/language", data={"language": "hi_IN"})
    hindi = page(client, f"/bills/{bill.id}")
    assert indian_date_in(bill.due_date, "hi_IN") in hindi and "₹2,424.12" in hindi
    assert indian_date_in(bill.period_start, "hi_IN") in hindi


def test_the_hindi_usage_page_names_months_in_hindi(client, login_as):
    _user, bill = billed_customer(login_as)
    client.post("/language", data={"language": "hi_IN"})
    usage = page(client, "/usage")
    assert format_date(bill.period_end, "MMM yy", locale="hi_IN") in usage and "आपकी बिजली खपत" in usage
    assert json.dumps("यूनिट (kWh)") in usage  # the chart's labels come from the catalogue too


def test_no_text_is_in_the_catalogue_twice():
    """Two entries for one text: the compiled catalogue silently keeps one of them (branches merged by hand)."""
    source = (TRANSLATIONS_DIR / "hi_IN" / "LC_MESSAGES" / "messages.po").read_text()
    entries = re.findall(r'^msgid "(.+)"\n(?:msgid_plural "(.*)"\n)?', source, re.M)
    assert [entry for entry, count in Counter(entries).items() if count > 1] == []
