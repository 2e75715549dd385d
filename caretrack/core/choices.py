"""Enumerations whose values are stored in the database and whose labels are shown to people.

Values are short English codes, stable across translations; each member also carries its Chinese name as
the policy notice spells it. That name is the gettext message id of its label and the text that imports match.
"""

from enum import StrEnum

from flask import has_request_context
from flask_babel import gettext

from caretrack.core.i18n import current_translations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction without translating it yet."""
    return message


def translated(message: str) -> str:
    """`message` (marked with N_) in the current language, from the request's catalog: what a long list repeats
    on every row (an enum's label, a cadence window's name) would otherwise cost a Flask-Babel lookup each time.
    Format it afterwards with `%`, as gettext(message, **variables) does.
    """
    if not has_request_context():
        return gettext(message)
    return current_translations().ugettext(message)


_BY_ZH_NAME: dict[type, dict[str, "LabelledEnum"]] = {}


class LabelledEnum(StrEnum):
    """A StrEnum whose members are declared as `CODE = "code", N_("中文名")`."""

    def __new__(cls, value: str, zh_name: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh_name = zh_name
        return member

    @property
    def label(self) -> str:
        """The name in the current language (looked up once per language: lists show one per row)."""
        return translated(self.zh_name)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a select field."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def from_zh(cls, text: str):
        """The member whose Chinese name is `text`, or None."""
        names = _BY_ZH_NAME.get(cls)
        if names is None:  # the members never change: one dict per enum, made on first use
            names = _BY_ZH_NAME[cls] = {}
            for member in cls:
                names.setdefault(member.zh_name, member)  # the first member of a name, as the search found
        return names.get((text or "").strip())
