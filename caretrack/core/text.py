"""What text the app accepts and writes: no control characters in what people type, none in what Excel gets.

A control character (a NUL, a vertical tab, an escape code pasted from another program) is invisible on the
page, breaks the XML inside every xlsx that would hold it, and never belongs in a name or a voucher number.
Forms and imports refuse it with the same message; the xlsx writers strip what is already stored.
"""

import unicodedata

from flask_babel import lazy_gettext as _l
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# A multi-line note may hold line breaks and tabs; nothing else of Unicode's "Cc" category.
MULTILINE_ALLOWED = frozenset("\n\r\t")

CONTROL_CHARACTER_MESSAGE = _l("不能包含控制字符。")


def has_control_characters(value, multiline: bool = False) -> bool:
    """True when the text holds a control character (line breaks and tabs are allowed when `multiline`)."""
    if not isinstance(value, str):
        return False
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


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
