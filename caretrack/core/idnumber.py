"""身份证号: the 18-character resident identity number of GB 11643-1999.

The last character is the ISO 7064 MOD 11-2 check digit (X for 10); characters 7-14 are the birth date,
which must be a real date; the 17th is odd for men and even for women.

Every way a number comes in (forms, imports, search, payment matching) goes through `parse`, which first
normalises what people paste: full-width digits (１１０…), a lower-case x, spaces and invisible characters.
Whatever is left must be ASCII digits and X, so one child can never have two files under two spellings.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

from flask_babel import gettext as _

from caretrack.core.errors import DomainError
from caretrack.core.tabular import ExcelNumber
from caretrack.core.timeutil import local_today

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$")  # after normalise(), which upper-cases the e
EARLIEST_BIRTH_YEAR = 1800  # the standard allows any real date; public test vectors use the 1880s


@dataclass(frozen=True)
class IdNumber:
    """A checked identity number with what it tells about its holder."""

    value: str

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def gender(self) -> str:
        """'m' or 'f', from the parity of the 17th character."""
        return "m" if int(self.value[16]) % 2 else "f"

    @property
    def masked(self) -> str:
        return mask(self.value)


def check_digit(first17: str) -> str:
    if len(first17) != len(WEIGHTS):
        raise ValueError("an ID number's check digit is computed from its first 17 digits")
    return CHECK_CHARACTERS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def normalise(raw: str) -> str:
    """The number as typed, in one spelling: NFKC (full-width digits become ASCII), no spaces or invisible
    characters (zero-width spaces, byte-order marks), upper-case X.
    """
    if raw and raw.isascii() and raw.isalnum():  # the usual case, already in that spelling but for the X's case
        return raw.upper()
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")).upper()


def _is_ascii_digits(text: str) -> bool:
    """True for 0-9 only: str.isdigit() also accepts Arabic-Indic, Devanagari and superscript digits."""
    return text.isascii() and text.isdigit()


def _stored_as_number(raw: str, value: str) -> bool:
    """A number cell of an xlsx, or what Excel writes to a CSV from one (1.10105E+17): its last digits are gone."""
    return isinstance(raw, ExcelNumber) or SCIENTIFIC.match(value) is not None


def parse(raw: str, today: date | None = None) -> IdNumber:
    """Check an identity number; the error says what is wrong without repeating the number."""
    value = normalise(raw)
    if not value:
        raise DomainError(_("身份证号不能为空。"))
    if _stored_as_number(raw, value):
        raise DomainError(_("Excel 把身份证号存成了数字，末几位已丢失，请把该列设为文本后重新导出。"))
    if len(value) != 18:
        raise DomainError(_("身份证号应为 18 位，当前为 %(n)d 位。", n=len(value)))
    if not _is_ascii_digits(value[:17]) or not (_is_ascii_digits(value[17]) or value[17] == "X"):
        raise DomainError(_("身份证号前 17 位应为数字，最后一位为数字或 X。"))
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise DomainError(_("身份证号中的出生日期不是有效日期。")) from None
    if born.year < EARLIEST_BIRTH_YEAR or born > (today or local_today()):
        raise DomainError(_("身份证号中的出生日期不是有效日期。"))
    if check_digit(value[:17]) != value[17]:
        raise DomainError(_("身份证号校验位不正确，请核对。"))
    return IdNumber(value)


def mask(value: str) -> str:
    """First 6 and last 4 characters: 110105********002X."""
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}" if len(value) > 10 else "*" * len(value)
