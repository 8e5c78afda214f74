"""Language and time zone choice, and the Indian formatting of money and dates."""

import logging
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

# The compiled catalogues (`make translations`); Flask-Babel reads the same directory (relative to app/).
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

log = logging.getLogger(__name__)


def N_(text: str) -> str:
    """Marks a text for the catalogue where it is written down; it is translated where it is shown."""
    return text


@cache
def catalogue(locale: str) -> NullTranslations:
    """The compiled catalogue for `locale`, outside any request (the PDFs); English needs none."""
    if locale.startswith("en"):
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def warn_if_not_compiled(languages: tuple[str, ...]) -> None:
    """Without its .mo a language silently shows English: say so when the app starts."""
    for locale in languages:
        if not locale.startswith("en") and not (TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.mo").exists():
            log.warning("no compiled catalogue for %s: pages show English until `make translations` builds it",
                        locale)


# WTForms ships no Hindi: forms give these instead of its built-in English messages.
REQUIRED = _l("Please fill this in.")
TOO_LONG = _l("Use at most %(max)d characters.")


def select_locale() -> str:
    if not has_request_context():  # CLI commands and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in current_app.config["LANGUAGES"]:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return request.accept_languages.best_match(["en", "hi"]) == "hi" and "hi_IN" or "en_IN"


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def rupees(amount: Decimal | int | str, locale: str) -> str:
    """₹1,23,456.78: rounded half-up to the paisa, grouped the Indian way (pages and PDFs alike)."""
    paise = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return format_currency(paise, "INR", locale=locale)


def rupee_rate(value: Decimal | int | str, locale: str) -> str:
    """A tariff's rate as the tariff writes it: up to four decimals (₹0.475), at least two (₹3.00)."""
    return format_currency(Decimal(value), "INR", format="¤#,##,##0.00##", currency_digits=False, locale=locale)


def _page_locale() -> str:
    return str(get_locale() or "en_IN")


def inr(amount: Decimal | int | str | None) -> str:
    """Money on a page: ₹1,23,456.78."""
    return "—" if amount is None else rupees(amount, _page_locale())


def rate(value: Decimal | int | str | None) -> str:
    """A rate on a page: ₹0.475 per unit stays ₹0.475."""
    return "—" if value is None else rupee_rate(value, _page_locale())


# An optional ₹, Rs, Rs. or INR; whole rupees grouped by commas in any way (1,00,000 or 100,000); paise after a point.
_RUPEES = re.compile(r"(?:₹|rs\.?|inr)?\s*([0-9][0-9,]*)(?:\.([0-9]+))?", re.IGNORECASE)
MAX_RUPEE_DIGITS = 12  # ₹9,99,99,99,99,999: far beyond any bill; more is a slip of the finger, not an amount


def parse_rupees(text: str | None) -> Decimal | None:
    """'₹1,00,000.50', '1234.5', 'Rs. 1,234' → Decimal, exactly as typed (the caller decides about more than
    two decimals); None for anything else: a sign, an exponent (1e5), NaN, Infinity, or more than
    MAX_RUPEE_DIGITS digits of rupees."""
    match = _RUPEES.fullmatch((text or "").strip())
    if not match:
        return None
    whole = match.group(1).replace(",", "").lstrip("0") or "0"
    if len(whole) > MAX_RUPEE_DIGITS:
        return None
    return Decimal(f"{whole}.{match.group(2)}" if match.group(2) else whole)


def quantity(value: Decimal | int | None) -> str:
    """Units and other quantities: 1,450.5 (no exponent, no trailing zeros, Indian grouping)."""
    if value is None:
        return "—"
    return format_decimal(Decimal(value), format="#,##,##0.###", locale=_page_locale())


def indian_date(value: date | datetime | None, style: str = "medium") -> str:
    """24 Nov 2026 (English) / 24 नव॰ 2026 (Hindi)."""
    if value is None:
        return "—"
    formats = {"medium": "d MMM yyyy", "short": "dd/MM/yyyy", "long": "d MMMM yyyy"}
    return format_date(value, formats[style])


def month_label(value: date) -> str:
    """Nov 2026 / नव॰ 2026: a billing period named by the month it ends in (never "Oct 26", read as a day)."""
    return format_date(value, "MMM yyyy")


def explained(text: str, params: dict | None = None) -> str:
    """A reason kept as a code's text (marked with N_) and its parameters, in the reader's language: translated
    when shown, a parameter named day or *_on (an ISO day, as stored in JSON) shown as a date."""
    shown = {name: indian_date(date.fromisoformat(value)) if (name == "day" or name.endswith("_on")) and value
             else value
             for name, value in (params or {}).items()}
    return gettext(text, **shown)


def chart_month_label(value: date) -> str:
    """Nov 26 / नव॰ 26: under a chart's bars, where twelve must fit a phone's width (the axis shows the year)."""
    return format_date(value, "MMM yy")


def indian_time(value: datetime) -> str:
    """14:05 IST, 24 Nov 2026."""
    return format_datetime(value, "HH:mm 'IST', d MMM yyyy")


# --- amounts in words, as Indian receipts and cheques write them ---
# English words compose from a table of 0–19 and the tens; Hindi numbers 1–99 are irregular (तेईस, छप्पन,
# निन्यानवे), so each has its own word. Both group the Indian way: crore, lakh, thousand, hundred.
_ENGLISH_UNDER_20 = (
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine",
    "Ten", "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen",
)
_ENGLISH_TENS = (
    "_", "_", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
)
_HINDI_UNDER_100 = (
    "शून्य", "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ",
    "दस", "ग्यारह", "बारह", "तेरह", "चौदह", "पंद्रह", "सोलह", "सत्रह", "अठारह", "उन्नीस",
    "बीस", "इक्कीस", "बाईस", "तेईस", "चौबीस", "पच्चीस", "छब्बीस", "सत्ताईस", "अट्ठाईस", "उनतीस",
    "तीस", "इकतीस", "बत्तीस", "तैंतीस", "चौंतीस", "पैंतीस", "छत्तीस", "सैंतीस", "अड़तीस", "उनतालीस",
    "चालीस", "इकतालीस", "बयालीस", "तैंतालीस", "चवालीस", "पैंतालीस", "छियालीस", "सैंतालीस", "अड़तालीस", "उनचास",
    "पचास", "इक्यावन", "बावन", "तिरपन", "चौवन", "पचपन", "छप्पन", "सत्तावन", "अट्ठावन", "उनसठ",
    "साठ", "इकसठ", "बासठ", "तिरसठ", "चौंसठ", "पैंसठ", "छियासठ", "सड़सठ", "अड़सठ", "उनहत्तर",
    "सत्तर", "इकहत्तर", "बहत्तर", "तिहत्तर", "चौहत्तर", "पचहत्तर", "छिहत्तर", "सतहत्तर", "अठहत्तर", "उन्यासी",
    "अस्सी", "इक्यासी", "बयासी", "तिरासी", "चौरासी", "पचासी", "छियासी", "सत्तासी", "अट्ठासी", "नवासी",
    "नब्बे", "इक्यानवे", "बानवे", "तिरानवे", "चौरानवे", "पचानवे", "छियानवे", "सत्तानवे", "अट्ठानवे", "निन्यानवे",
)
# (size, English word, Hindi word), largest first; a crore count above 99 is itself composed (सौ करोड़).
_INDIAN_GROUPS = ((10_000_000, "Crore", "करोड़"), (100_000, "Lakh", "लाख"), (1_000, "Thousand", "हज़ार"),
                  (100, "Hundred", "सौ"))


def _under_100(number: int, language: str) -> str:
    if language == "hi":
        return _HINDI_UNDER_100[number]
    if number < 20:
        return _ENGLISH_UNDER_20[number]
    tens, ones = divmod(number, 10)
    return _ENGLISH_TENS[tens] + (f"-{_ENGLISH_UNDER_20[ones]}" if ones else "")


def number_in_words(number: int, language: str) -> str:
    """123456 → "One Lakh Twenty-Three Thousand Four Hundred Fifty-Six" / "एक लाख तेईस हज़ार चार सौ छप्पन"."""
    if number < 0:
        raise ValueError(f"no words for a negative number ({number})")
    if number < 100:
        return _under_100(number, language)
    words = []
    for size, english, hindi in _INDIAN_GROUPS:
        count, number = divmod(number, size)
        if count:
            words += [number_in_words(count, language), hindi if language == "hi" else english]
    if number:
        words.append(_under_100(number, language))
    return " ".join(words)


def amount_in_words(amount: Decimal, language: str) -> str:
    """₹1,23,456.50 in words, as a receipt writes it:
    "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Fifty Paise Only" /
    "एक लाख तेईस हज़ार चार सौ छप्पन रुपये और पचास पैसे मात्र". Rounded half-up to the paisa."""
    paise_total = int(Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)
    rupee_count, paise = divmod(paise_total, 100)
    if paise_total < 0:
        raise ValueError(f"no words for a negative amount ({amount})")
    if language == "hi":
        rupee_part = f"{number_in_words(rupee_count, 'hi')} {'रुपया' if rupee_count == 1 else 'रुपये'}"
        paise_part = f"{number_in_words(paise, 'hi')} {'पैसा' if paise == 1 else 'पैसे'}"
        joiner, only = " और ", " मात्र"
    else:
        rupee_part = f"Rupees {number_in_words(rupee_count, 'en')}"
        paise_part = f"{number_in_words(paise, 'en')} {'Paisa' if paise == 1 else 'Paise'}"
        joiner, only = " and ", " Only"
    if not paise:
        return rupee_part + only
    if not rupee_count:  # paise only: "Fifty Paise Only", never "Rupees Zero and …"
        return paise_part + only
    return rupee_part + joiner + paise_part + only


def in_words(amount: Decimal) -> str:
    """An amount in words on a page, in the page's language."""
    return amount_in_words(amount, "hi" if _page_locale().startswith("hi") else "en")
