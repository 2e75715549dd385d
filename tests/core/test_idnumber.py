"""身份证号 validation on public vectors, masking, encryption and the blind index."""

from datetime import date

import pytest

from caretrack.core import crypto, idnumber
from caretrack.core.errors import DomainError


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014"])
def test_public_valid_vectors(app, value):
    with app.app_context():
        assert idnumber.parse(value).value == value


def test_lower_case_x_is_accepted_and_stored_upper_case(app):
    with app.app_context():
        assert idnumber.parse(" 11010519491231002x ").value == "11010519491231002X"


@pytest.mark.parametrize(("value", "reason"), [
    ("110105194912310021", "校验位不正确"),
    ("110105194902310026", "出生日期不是有效日期"),
    ("11010519491231002", "应为 18 位"),
    ("11010519491231002XX", "应为 18 位"),
    ("1101051949123100AX", "前 17 位应为数字"),
    ("", "不能为空"),
])
def test_invalid_numbers_say_what_is_wrong(app, value, reason):
    with app.app_context(), pytest.raises(DomainError) as error:
        idnumber.parse(value)
    assert reason in error.value.message
    if value:
        assert value not in error.value.message  # never echo the number


def test_birth_date_in_the_future_is_refused(app):
    number = "110105203001010000"
    fixed = number[:17] + idnumber.check_digit(number[:17])
    with app.app_context(), pytest.raises(DomainError, match="出生日期"):
        idnumber.parse(fixed, today=date(2026, 11, 28))


def test_birth_date_and_gender_come_from_the_number(app):
    with app.app_context():
        number = idnumber.parse("11010519491231002X")
    assert number.birth_date == date(1949, 12, 31)
    assert number.gender == "f"  # 17th digit 2 is even
    assert idnumber.parse("440524188001010014").gender == "m"


def test_mask_keeps_first_six_and_last_four():
    assert idnumber.mask("11010519491231002X") == "110105********002X"


def test_encryption_round_trips_and_never_repeats(app):
    with app.app_context():
        first = crypto.encrypt("11010519491231002X")
        second = crypto.encrypt("11010519491231002X")
        assert first != second
        assert b"11010519491231002X" not in first
        assert crypto.decrypt(first) == "11010519491231002X"


def test_blind_index_is_stable_and_keyed(app):
    with app.app_context():
        index = crypto.blind_index("11010519491231002X")
        assert index == crypto.blind_index("11010519491231002X")
        assert index != crypto.blind_index("440524188001010014")
        app.config["CARETRACK_DATA_KEY"], saved = "another-key", app.config["CARETRACK_DATA_KEY"]
        try:
            assert crypto.blind_index("11010519491231002X") != index
        finally:
            app.config["CARETRACK_DATA_KEY"] = saved


def test_tampered_ciphertext_is_refused(app):
    with app.app_context():
        blob = bytearray(crypto.encrypt("11010519491231002X"))
        blob[-1] ^= 1
        with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography raises InvalidTag
            crypto.decrypt(bytes(blob))


# --- one spelling for every way a number is typed or pasted ---------------------------------------------------

FULL_WIDTH_NUMBER = "１１０１０５１９４９１２３１００２Ｘ"


@pytest.mark.parametrize("typed", [
    FULL_WIDTH_NUMBER,                       # a Chinese input method in full-width mode
    "１１０１０５１９４９１２３１００２ｘ",      # full-width lower-case x
    "11010519491231002x",
    "\u200b11010519491231002X\u200b",        # zero-width spaces copied from a web page
    "110105\u200c1949\u200d1231\ufeff002X",  # zero-width (non-)joiners and a byte-order mark inside
    "110105 19491231 002X",                  # spaces between the groups
    "110105\u300019491231\u00a0002X\u2060",   # ideographic and no-break spaces, a word joiner
])
def test_every_spelling_of_a_number_comes_out_the_same(app, typed):
    assert idnumber.parse(typed).value == "11010519491231002X"


@pytest.mark.parametrize("typed", [
    "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",   # Arabic-Indic digits: str.isdigit() says yes, so they once passed
    "۱۱۰۱۰۵۱۹۴۹۱۲۳۱۰۰۲X",   # Extended Arabic-Indic (Persian) digits
    "११०१०५१९४९१२३१००२X",   # Devanagari digits
])
def test_digits_of_other_scripts_are_refused(app, typed):
    with pytest.raises(DomainError, match="前 17 位应为数字"):
        idnumber.parse(typed)


def test_a_check_character_other_than_x_is_refused(app):
    with pytest.raises(DomainError, match="最后一位为数字或 X"):
        idnumber.parse("11010519491231002Y")


def test_a_full_width_number_has_the_blind_index_of_the_ascii_one(app):
    assert crypto.blind_index(idnumber.parse(FULL_WIDTH_NUMBER).value) == crypto.blind_index("11010519491231002X")
