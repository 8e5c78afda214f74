"""The customer's pages: dashboard, bills, usage, meter reading, profile; and their refusals."""

import gzip
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.auth.models import User
from app.billing.compose import Cycle
from app.billing.ledger import post
from app.billing.models import Bill, LedgerKind
from app.billing.runs import run_bills
from app.db import today_in_india
from app.extensions import db
from app.metering.models import Reading, ReadingSource, ReadingStatus
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def photo(kind="JPEG", exif=False) -> bytes:
    image = Image.new("RGB", (800, 600), (200, 220, 240))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x010E] = "Lat 28.61 N, Long 77.20 E"  # ImageDescription: the kind of thing that must not leak
        image.save(out, format=kind, exif=data.tobytes())
    else:
        image.save(out, format=kind)
    return out.getvalue()


def billed_customer(login_as, months=13, read_today=None):
    """A customer whose connection has `months` monthly bills ending last month; returns (user, account, meter)."""
    user = login_as("customer")
    tariff = factories.make_tariff("derc-domestic-2019.json")  # open-ended: any recent cycle can be billed
    account = factories.make_account(tariff=tariff, region="Delhi", category="Domestic")
    factories.link(user, account)
    meter = factories.make_meter(account)
    today = today_in_india()
    first = Cycle(today.year, today.month).shifted(-months)
    value = Decimal(1000)
    factories.make_reading(meter, first.day(5), value)
    for n in range(1, months + 1):
        value += 150 + 10 * n
        factories.make_reading(meter, first.shifted(n).day(5), value)
    from app.billing.services import set_monthly_param

    for n in range(months + 2):
        month = first.shifted(n).first_day
        set_monthly_param("DL-DERC-DOMESTIC", month, "ppac_percent", Decimal("8"))
        set_monthly_param("DL-DERC-DOMESTIC", month, "pension_percent", Decimal("3.8"))
    db.session.commit()
    for n in range(1, months + 1):
        cycle = first.shifted(n)
        if cycle.day(12) <= today:
            run_bills(cycle, issued_on=cycle.day(12))
    if read_today is not None:
        factories.make_reading(meter, today, value + read_today)
    db.session.commit()
    return user, account, meter


def test_dashboard_shows_what_is_due_and_where_the_period_is_heading(client, login_as):
    _user, account, _meter = billed_customer(login_as, read_today=Decimal("60"))
    page = client.get("/").get_data(as_text=True)
    bill = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).first()
    assert "Amount due" in page and f"{bill.total_due:,}" in page.replace("₹", "")
    assert "This period so far" in page and "Next bill, about" in page
    assert '<svg class="sparkline"' in page and "plotly" not in page.lower()
    assert 'id="notices"' in page
    post(account.id, LedgerKind.PAYMENT, -bill.total_due, today_in_india(), "paid at the counter")
    db.session.commit()
    assert "Nothing to pay. Thank you!" in client.get("/").get_data(as_text=True)


def test_dashboard_warns_before_the_next_slab(client, login_as):
    _user, _account, meter = billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    bill = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).first()
    # DERC's first slab is 200 units a month: a projection of ~190 units is close below it.
    days_so_far = (today_in_india() - bill.period_end).days
    period_days = (bill.period_end - bill.period_start).days + 1
    so_far = (Decimal(190) * days_so_far / period_days).quantize(Decimal("1"))
    factories.make_reading(meter, today_in_india(), last.value + so_far)
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"\d+ units to the next slab: every unit after it costs ₹4.50 instead of ₹3.00", page), page


def test_bill_history_pages_and_htmx_fragment(client, login_as):
    billed_customer(login_as, months=13)
    count = len(db.session.scalars(select(Bill)).all())
    assert count >= 11
    first = client.get("/bills").get_data(as_text=True)
    assert first.count('class="row-main row-link"') == 10 and "Show older bills" in first
    fragment = client.get("/bills?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.count('class="row-main row-link"') == count - 10
    assert "Show older bills" not in fragment
    full = client.get("/bills?page=2").get_data(as_text=True)
    assert "<html" in full  # the plain link without JavaScript gets a whole page
    assert client.get("/bills?page=3").status_code == 404  # past the last page


@pytest.mark.parametrize("path", ["/bills", "/payments"])
@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "99999999999999999999", str(2**63), "100001"])
def test_a_page_number_that_is_no_page_is_a_404_never_a_500(client, login_as, path, page):
    billed_customer(login_as, months=2)
    assert client.get(f"{path}?page=1").status_code == 200
    assert client.get(f"{path}?page={page}").status_code == 404


def test_bill_detail_explains_lines_and_compares(client, login_as):
    billed_customer(login_as, months=13)
    bill = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).first()
    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "Units are priced in steps called slabs" in page
    assert "Previous bill" in page and "Same period last year" in page


def test_usage_page_draws_first_and_loads_plotly_later(client, login_as):
    billed_customer(login_as, months=13)
    page = client.get("/usage").get_data(as_text=True)
    assert '<svg class="bars"' in page and "<table" in page
    data = json.loads(re.search(r'<script type="application/json" id="usage-data">(.*?)</script>', page, re.S)[1])
    assert len(data["labels"]) == len(data["units"]) >= 12 and any(v is not None for v in data["last_year_units"])
    assert '<script src="/static/js/plotly' not in page  # not a blocking script: usage.js loads it after paint
    assert re.search(r'data-plotly="/static/js/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js"', page)
    assert "pill-active" in client.get("/usage?measure=amount").get_data(as_text=True)
    table = page[page.index("<table"):]
    assert re.search(r'<th scope="row">[A-Z][a-z]{2,3} 20\d\d', table)  # "Nov 2026" in the table, never "Nov 26"
    assert not re.search(r'<th scope="row">[A-Z][a-z]{2,3} \d\d( \*)?</th>', table)


def reading_form(value, image=None, **extra):
    return {"value": value, "photo": (io.BytesIO(image if image is not None else photo()), "meter.jpg"),
            "idempotency_key": extra.pop("key", "k" * 32), **extra}


def test_submitting_a_reading_with_a_photo(app, client, login_as):
    _user, _account, meter = billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    response = client.post("/readings/new", data=reading_form(str(last.value + 40), photo(exif=True)),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    reading = db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF))
    assert reading.status is ReadingStatus.ACCEPTED and reading.value == last.value + 40
    stored = Path(app.config["UPLOAD_FOLDER"]) / "readings" / reading.photo_path
    with Image.open(stored) as image:
        assert image.format == "JPEG" and not image.getexif()  # metadata stripped
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is recorded" in result and "Your estimated bill" in result
    assert client.get(f"/readings/{reading.id}/photo").mimetype == "image/jpeg"


def test_a_lower_reading_needs_the_rollover_box_and_then_review(client, login_as):
    billed_customer(login_as, months=2)
    refused = client.post("/readings/new", data=reading_form("5"), content_type="multipart/form-data")
    assert refused.status_code == 422 and "This is lower than the last reading" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF)) is None
    client.post("/readings/new", data=reading_form("5", confirm_rollover="y"), content_type="multipart/form-data")
    reading = db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF))
    assert reading.status is ReadingStatus.NEEDS_REVIEW and reading.rollover


def test_an_abnormal_jump_is_accepted_for_review(client, login_as):
    billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    client.post("/readings/new", data=reading_form(str(last.value + 9000)), content_type="multipart/form-data")
    reading = db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF))
    assert reading.status is ReadingStatus.NEEDS_REVIEW and "higher" in reading.review_note


@pytest.mark.parametrize(("image", "message"), [
    (b"not an image at all", "not a photo we can read"),
    (b"", "Add a photo"),
])
def test_bad_photos_are_refused(client, login_as, image, message):
    billed_customer(login_as, months=2)
    data = reading_form("99999", image)
    if not image:
        data["photo"] = (io.BytesIO(b""), "")
    response = client.post("/readings/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(Reading).where(Reading.source == ReadingSource.SELF)) is None


def test_json_submission_is_idempotent(client, login_as):
    billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    for expected in (201, 200):
        response = client.post("/readings/new", data=reading_form(str(last.value + 30), key="offline-key-123"),
                               headers={"Accept": "application/json"}, content_type="multipart/form-data")
        assert response.status_code == expected
        assert response.json["status"] == "accepted" and response.json["url"].startswith("/readings/")
    assert len(db.session.scalars(select(Reading).where(Reading.source == ReadingSource.SELF)).all()) == 1
    bad = client.post("/readings/new", data=reading_form("abc", key="other-key-123"),
                      headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "value" in bad.json["errors"]


def test_someone_elses_reading_is_not_found(client, login_as):
    other = factories.make_account()
    meter = factories.make_meter(other)
    reading = factories.make_reading(meter, date(2026, 1, 5), "10", photo_path="x.jpg")
    db.session.commit()
    login_as("customer")
    assert client.get(f"/readings/{reading.id}").status_code == 404
    assert client.get(f"/readings/{reading.id}/photo").status_code == 404


def test_profile_language_paperless_and_data_export(client, login_as):
    user, account, _meter = billed_customer(login_as, months=2)
    assert client.post("/language", data={"language": "hi_IN", "next": "/profile"}).status_code == 302
    assert db.session.get(User, user.id).locale == "hi_IN"
    client.post("/language", data={"language": "en_IN"})
    client.post("/profile/paperless", data={"paperless": "y"})
    assert db.session.get(type(account), account.id).paperless
    export = client.get("/profile/data.json")
    assert export.headers["Content-Disposition"].startswith("attachment")
    assert export.json["connections"][0]["consumer_number"] == account.consumer_number
    assert export.json["user"]["mobile"] == user.mobile


def test_erasing_an_account_keeps_the_bills(client, login_as):
    user, account, _meter = billed_customer(login_as, months=2)
    bills_before = len(db.session.scalars(select(Bill)).all())
    wrong = client.post("/profile/erase", data={"password": "nope", "understood": "y"})
    assert wrong.status_code == 422
    done = client.post("/profile/erase", data={"password": factories.PASSWORD, "understood": "y"})
    assert done.status_code == 302
    erased = db.session.get(User, user.id)
    assert erased.mobile is None and erased.name == "Erased user" and not erased.active and erased.erased_at
    assert len(db.session.scalars(select(Bill)).all()) == bills_before
    assert client.post("/login", data={"login": user.mobile or "", "password": factories.PASSWORD}).status_code != 302


def test_page_weight_of_the_dashboard(client, login_as):
    billed_customer(login_as, months=13, read_today=Decimal("40"))
    page = client.get("/").get_data()
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js))"', page)
    total = len(gzip.compress(page))
    for asset in assets:
        total += len(gzip.compress(client.get(asset.decode()).data))
    assert total <= 60 * 1024, f"{total} bytes gzipped"
    assert not any(b"plotly" in asset for asset in assets)


def test_no_page_but_usage_loads_plotly(client, login_as):
    billed_customer(login_as, months=2)
    bill = db.session.scalars(select(Bill)).first()
    for url in ("/", "/bills", f"/bills/{bill.id}", "/readings/new", "/profile", "/connections"):
        assert "plotly" not in client.get(url).get_data(as_text=True).lower(), url
    assert "plotly" in client.get("/usage").get_data(as_text=True)


def test_daily_use_from_a_smart_meter(client, login_as):
    _user, _account, meter = billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    today = today_in_india()
    value = last.value
    for back in range(10, 0, -1):
        value += Decimal("9.5")
        factories.make_reading(meter, today - timedelta(days=back), value, source=ReadingSource.SMART)
    db.session.commit()
    page = client.get("/usage").get_data(as_text=True)
    assert "Units per day from your smart meter" in page
    data = json.loads(re.search(r'id="usage-data">(.*?)</script>', page, re.S)[1])
    assert data["daily"]["units"][-1] == 9.5 and len(data["daily"]["days"]) == 9


def test_a_reading_goes_to_the_connection_it_was_made_for(client, login_as):
    user, account, meter = billed_customer(login_as, months=2)
    other = factories.make_account()
    factories.make_meter(other)
    factories.link(user, other)
    stranger = factories.make_account()
    db.session.commit()
    page = client.get("/readings/new").get_data(as_text=True)
    assert f'name="account_id" type="hidden" value="{account.id}"' in page
    client.post(f"/connections/{other.id}/select")  # switched before a queued reading was sent
    last = db.session.scalars(select(Reading).where(Reading.meter_id == meter.id)
                              .order_by(Reading.read_on.desc())).first()
    client.post("/readings/new", data=reading_form(str(last.value + 20), account_id=str(account.id)),
                content_type="multipart/form-data")
    assert db.session.scalar(select(Reading.meter_id).where(Reading.source == ReadingSource.SELF)) == meter.id
    refused = client.post("/readings/new", data=reading_form("1", account_id=str(stranger.id), key="s" * 32),
                          content_type="multipart/form-data")
    assert refused.status_code == 404


def test_a_reading_queued_offline_keeps_the_day_it_was_taken(client, login_as):
    billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    two_days_ago = today_in_india() - timedelta(days=2)
    client.post("/readings/new", data=reading_form(str(last.value + 20), taken_on=two_days_ago.isoformat()),
                content_type="multipart/form-data")
    assert db.session.scalar(select(Reading.read_on).where(Reading.source == ReadingSource.SELF)) == two_days_ago
    long_ago = (today_in_india() - timedelta(days=30)).isoformat()  # older than a week: taken as today
    client.post("/readings/new", data=reading_form(str(last.value + 25), taken_on=long_ago, key="b" * 32),
                content_type="multipart/form-data")
    days = db.session.scalars(select(Reading.read_on).where(Reading.source == ReadingSource.SELF)).all()
    assert today_in_india() in days


def test_idempotency_keys_belong_to_their_user(app, client, login_as):
    billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    client.post("/readings/new", data=reading_form(str(last.value + 20), key="shared-key-0001"),
                content_type="multipart/form-data")
    other_client = app.test_client()
    other = factories.make_user(email="other@example.com")
    account = factories.make_account()
    factories.make_meter(account)
    factories.link(other, account)
    db.session.commit()
    other_client.post("/login", data={"login": "other@example.com", "password": factories.PASSWORD})
    response = other_client.post("/readings/new", data=reading_form("5", key="shared-key-0001"),
                                 content_type="multipart/form-data")
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)


def test_usage_names_its_connection_and_switches_to_another_staying_on_usage(client, login_as):
    user, account, _meter = billed_customer(login_as, months=3)
    other = factories.make_account(holder_name="Shop Holder")
    factories.link(user, other)
    db.session.commit()
    page = client.get("/usage").get_data(as_text=True)
    assert f"{account.consumer_number} · {account.holder_name}" in page
    assert f'/connections/{other.id}/select' in page and 'name="next" value="/usage"' in page
    switched = client.post(f"/connections/{other.id}/select", data={"next": "/usage"})
    assert switched.headers["Location"] == "/usage"
    assert f"{other.consumer_number} · Shop Holder" in client.get("/usage").get_data(as_text=True)
    outside = client.post(f"/connections/{account.id}/select", data={"next": "//evil.example/"})
    assert outside.headers["Location"] == "/"


def test_after_an_estimated_bill_the_projection_counts_from_the_last_actual_reading(client, login_as):
    user = login_as("customer")
    tariff = factories.make_tariff("derc-domestic-2019.json")
    account = factories.make_account(tariff=tariff, region="Delhi", category="Domestic")
    factories.link(user, account)
    meter = factories.make_meter(account)
    for month, value in ((8, "1000"), (9, "1180"), (10, "1360")):
        factories.make_reading(meter, date(2026, month, 5), value)
    from app.billing.services import set_monthly_param

    for month in range(8, 12):
        set_monthly_param("DL-DERC-DOMESTIC", date(2026, month, 1), "ppac_percent", Decimal("8"))
        set_monthly_param("DL-DERC-DOMESTIC", date(2026, month, 1), "pension_percent", Decimal("3.8"))
    db.session.commit()
    for month in (9, 10, 11):  # no reading in November: that bill is estimated
        run_bills(Cycle(2026, month), issued_on=date(2026, month, 12))
    db.session.commit()
    latest = db.session.scalars(select(Bill).order_by(Bill.period_start.desc())).first()
    assert latest.estimated
    assert "Submit a meter reading to see where" in client.get("/").get_data(as_text=True)

    response = client.post("/readings/new", data=reading_form("1620"), content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert "Next bill, about" in page and "260" in page  # 260 units since 5 Oct, the last actual reading


def test_a_reading_waiting_for_review_is_acknowledged_on_the_dashboard(client, login_as):
    _user, _account, _meter = billed_customer(login_as, months=2)
    client.post("/readings/new", data=reading_form("5", confirm_rollover="y"), content_type="multipart/form-data")
    page = client.get("/").get_data(as_text=True)
    assert "Your reading of 5 on 18 Nov 2026 is being checked by our staff" in page


def test_a_photo_over_the_limit_without_javascript_keeps_the_typed_reading(app, client, login_as):
    """A 7 MB photo (over the app-wide 6 MB request limit) came back as a bare 413 and the reading was lost."""
    billed_customer(login_as, months=2)
    big = b"\xff\xd8" + b"\x00" * (7 * 1024 * 1024)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/readings/new", data=reading_form("12345.6", big), content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="12345.6"' in page and "The photo is too large (at most 5 MB)." in page
    assert 'id="photo-errors"' in page  # at the photo field


def test_a_second_reading_on_the_same_day_says_that_one_was_already_sent(client, login_as):
    _user, _account, _meter = billed_customer(login_as, months=2)
    last = db.session.scalars(select(Reading).order_by(Reading.read_on.desc())).first()
    first = client.post("/readings/new", data=reading_form(str(last.value + 20), key="first-of-the-day"),
                        content_type="multipart/form-data")
    assert "is recorded" in client.get(first.headers["Location"]).get_data(as_text=True)
    second = client.post("/readings/new", data=reading_form(str(last.value + 25), key="second-of-the-day"),
                         content_type="multipart/form-data")
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "You had already sent" in page
    assert "our staff will check the photos and keep the right one" in page
