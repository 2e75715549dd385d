"""What text the app accepts and writes: no control characters in what people type, none in what Excel gets.

A control character (a NUL, a vertical tab, an escape code pasted from another program) is invisible on the
page, breaks the XML inside every xlsx that would hold it, and never belongs in a name or a voucher number.
Forms and imports refuse it with the same message; the xlsx writers strip what is already stored.
"""

import re

from flask_babel import lazy_gettext as _l
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

CONTROL_CHARACTER_MESSAGE = _l("不能包含控制字符。")

# Unicode's "Cc" category is exactly these 65 code points (C0, DEL, C1), fixed by Unicode's stability policy;
# a regular expression finds one without a Python call per character (an import checks millions of them).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
# A multi-line note may hold line breaks and tabs (\t \n \r); nothing else of the category.
CONTROL_CHARACTERS_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value, multiline: bool = False) -> bool:
    """True when the text holds a control character (line breaks and tabs are allowed when `multiline`)."""
    if not isinstance(value, str):
        return False
    return (CONTROL_CHARACTERS_MULTILINE if multiline else CONTROL_CHARACTERS).search(value) is not None


def control_character_message() -> str:
    """The message shown for a refused value, in the user's language."""
    return str(CONTROL_CHARACTER_MESSAGE)


def xlsx_safe(value):
    """The value with the characters an xlsx cannot hold removed; anything but text is returned as it is.

    openpyxl raises IllegalCharacterError on them, which would make every export holding one stored value fail.
    """
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
