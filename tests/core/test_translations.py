"""The English catalog is complete: every Chinese message id in the code and templates has a translation.

Messages are extracted with Babel's API from the sources babel.cfg names, with the keywords the code uses, so a
new string without its English fails here (run `make translations`, translate, compile).
"""

import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

pytestmark = pytest.mark.no_transaction

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
CATALOG = ROOT / "caretrack" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
    "_l": None, "lazy_gettext": None, "N_": None,
}
# A python-format placeholder and its conversion: %(name)s, %(n)d, %(amount).2f ...
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?([diouxXeEfFgGcrs])")


@cache
def extracted() -> dict[tuple[str | None, str], list[str]]:
    """(context, message id) -> where it is used, for every message in the sources babel.cfg lists."""
    with BABEL_CFG.open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(BABEL_CFG))
    found: dict[tuple[str | None, str], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((context, msgid), []).append(f"{filename}:{lineno}")
    return found


@cache
def catalog():
    with CATALOG.open("rb") as po:
        return read_po(po, locale="en")


def _strings(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def _ids(message) -> list[str]:
    return [message.id] if isinstance(message.id, str) else list(message.id)


def test_extraction_finds_the_messages():
    messages = extracted()
    assert (None, "我的工作") in messages
    assert (None, "用户名或密码错误。") in messages
    assert len(messages) > 100


def test_every_message_id_has_an_english_translation():
    english = catalog()
    missing = []
    for (context, msgid), places in sorted(extracted().items(), key=lambda item: item[1][0]):
        message = english.get(msgid, context=context)
        if message is None or not all(_strings(message)) or message.fuzzy:
            missing.append(f"{places[0]}: {msgid!r}" + (f" (context {context!r})" if context else ""))
    assert not missing, (
        f"{len(missing)} message ids have no English translation in {CATALOG.relative_to(ROOT)} "
        "(run `make translations`, translate, then `pybabel compile -d caretrack/translations`):\n"
        + "\n".join(missing)
    )


def test_translations_keep_every_placeholder():
    wrong = []
    for message in catalog():
        if not message.id or not any(_strings(message)):
            continue
        wanted = Counter(PLACEHOLDER.findall(_ids(message)[-1]))
        for string in _strings(message):
            if Counter(PLACEHOLDER.findall(string)) != wanted:
                wrong.append(f"{_ids(message)[0]!r} -> {string!r}")
    assert not wrong, "translations that lose or add a %(name)s placeholder:\n" + "\n".join(wrong)


def test_catalog_has_no_fuzzy_entries():
    fuzzy = [message.id for message in catalog() if message.id and message.fuzzy]
    assert not fuzzy, f"fuzzy entries are not compiled, so they show in Chinese: {fuzzy}"
