"""Amounts in words, as Indian receipts write them: lakh and crore, English and Hindi."""

from decimal import Decimal

import pytest

from app.i18n import _HINDI_UNDER_100, amount_in_words, number_in_words

D = Decimal


@pytest.mark.parametrize(("amount", "english", "hindi"), [
    ("123456.50", "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Fifty Paise Only",
     "एक लाख तेईस हज़ार चार सौ छप्पन रुपये और पचास पैसे मात्र"),
    ("0", "Rupees Zero Only", "शून्य रुपये मात्र"),
    ("0.00", "Rupees Zero Only", "शून्य रुपये मात्र"),
    ("1", "Rupees One Only", "एक रुपया मात्र"),
    ("11", "Rupees Eleven Only", "ग्यारह रुपये मात्र"),
    ("99", "Rupees Ninety-Nine Only", "निन्यानवे रुपये मात्र"),
    ("100", "Rupees One Hundred Only", "एक सौ रुपये मात्र"),
    ("101", "Rupees One Hundred One Only", "एक सौ एक रुपये मात्र"),
    ("1000", "Rupees One Thousand Only", "एक हज़ार रुपये मात्र"),
    ("100000", "Rupees One Lakh Only", "एक लाख रुपये मात्र"),
    ("9999999", "Rupees Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine Only",
     "निन्यानवे लाख निन्यानवे हज़ार नौ सौ निन्यानवे रुपये मात्र"),
    ("10000000", "Rupees One Crore Only", "एक करोड़ रुपये मात्र"),
    ("1000000000", "Rupees One Hundred Crore Only", "एक सौ करोड़ रुपये मात्र"),
    ("12345678901.10", "Rupees One Thousand Two Hundred Thirty-Four Crore Fifty-Six Lakh Seventy-Eight Thousand "
     "Nine Hundred One and Ten Paise Only",
     "एक हज़ार दो सौ चौंतीस करोड़ छप्पन लाख अठहत्तर हज़ार नौ सौ एक रुपये और दस पैसे मात्र"),
    ("0.50", "Fifty Paise Only", "पचास पैसे मात्र"),
    ("0.01", "One Paisa Only", "एक पैसा मात्र"),
    ("0.99", "Ninety-Nine Paise Only", "निन्यानवे पैसे मात्र"),
    ("21.05", "Rupees Twenty-One and Five Paise Only", "इक्कीस रुपये और पाँच पैसे मात्र"),
    ("1.01", "Rupees One and One Paisa Only", "एक रुपया और एक पैसा मात्र"),
    ("4069.05", "Rupees Four Thousand Sixty-Nine and Five Paise Only",
     "चार हज़ार उनहत्तर रुपये और पाँच पैसे मात्र"),
    ("100.005", "Rupees One Hundred and One Paisa Only", "एक सौ रुपये और एक पैसा मात्र"),  # half-up to the paisa
])
def test_amounts_in_english_and_hindi(amount, english, hindi):
    assert amount_in_words(D(amount), "en") == english
    assert amount_in_words(D(amount), "hi") == hindi


@pytest.mark.parametrize(("number", "english", "hindi"), [
    (12, "Twelve", "बारह"), (20, "Twenty", "बीस"), (23, "Twenty-Three", "तेईस"), (45, "Forty-Five", "पैंतालीस"),
    (59, "Fifty-Nine", "उनसठ"), (67, "Sixty-Seven", "सड़सठ"), (79, "Seventy-Nine", "उन्यासी"),
    (89, "Eighty-Nine", "नवासी"), (90, "Ninety", "नब्बे"), (110, "One Hundred Ten", "एक सौ दस"),
    (999, "Nine Hundred Ninety-Nine", "नौ सौ निन्यानवे"), (1001, "One Thousand One", "एक हज़ार एक"),
    (10_000, "Ten Thousand", "दस हज़ार"), (1_00_001, "One Lakh One", "एक लाख एक"),
    (2_00_50_000, "Two Crore Fifty Thousand", "दो करोड़ पचास हज़ार"),
])
def test_numbers_group_the_indian_way(number, english, hindi):
    assert number_in_words(number, "en") == english
    assert number_in_words(number, "hi") == hindi


def test_every_hindi_number_below_100_has_its_own_word():
    assert len(_HINDI_UNDER_100) == 100 and len(set(_HINDI_UNDER_100)) == 100
    # the tens, where a slip in the table would shift every word after it
    assert [_HINDI_UNDER_100[n] for n in range(10, 100, 10)] == [
        "दस", "बीस", "तीस", "चालीस", "पचास", "साठ", "सत्तर", "अस्सी", "नब्बे"]
    # each number just below a ten is "one less than" it (उन-), 19 to 89
    assert all(_HINDI_UNDER_100[n].startswith(("उन्", "उन", "नवासी")) for n in range(19, 90, 10))


def test_negative_amounts_have_no_words():
    with pytest.raises(ValueError):
        amount_in_words(D("-1"), "en")
    with pytest.raises(ValueError):
        number_in_words(-1, "hi")
