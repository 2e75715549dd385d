"""Read the forms of a rendered page the way a browser submits them."""

import re
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _Forms(HTMLParser):
    """Every form of the page: its action, and its fields in order as (name, value, kind)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.selects: list[dict] = []  # every select of the page, in or out of a form
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"action": attrs.get("action"), "method": (attrs.get("method") or "get").lower(),
                          "fields": []}
            self.forms.append(self._form)
        elif tag == "select":
            self._select = {"name": attrs.get("name") or "", "multiple": "multiple" in attrs, "options": [],
                            "marked": []}
            self.selects.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select["marked"].append(attrs.get("value", ""))
        elif tag == "input" and self._form is not None and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "file"):
                self._form["fields"].append((attrs["name"], attrs.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "textarea" and self._form is not None:
            self._textarea = [attrs.get("name"), ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if self._form is not None:
                values = self._select["marked"] or self._select["options"][:1]
                self._form["fields"].extend((self._select["name"], v) for v in values)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # A browser drops the one newline that may open a textarea's content (WTForms writes one).
            self._form["fields"].append((name, text.removeprefix("\r").removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._form = None


def _parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def marked(html: str) -> dict[str, list[str]]:
    """The options each select of the page marks as selected (none: the browser falls back to the first)."""
    return {s["name"]: s["marked"] for s in _parse(html).selects}


def selected(html: str) -> dict[str, str | None]:
    """Each select's value as a browser would submit it: the option marked selected, else the first."""
    return {s["name"]: (s["marked"] or s["options"][:1] or [None])[-1] for s in _parse(html).selects}


def form_data(html: str, url: str) -> MultiDict:
    """What submitting unchanged the page's POST form that posts back to the page at `url` sends."""
    path = url.split("?")[0]
    return MultiDict(next(f["fields"] for f in _parse(html).forms
                          if f["method"] == "post" and (f["action"] or path).split("?")[0] == path))


def errors_by_field(html: str) -> dict[str, list[str]]:
    """The error messages shown under each field of a form rendered with the `field` macro, by field name."""
    found: dict[str, list[str]] = {}
    for block in html.split('<div class="mb-3">')[1:]:
        name = re.search(r'name="([^"]+)"', block)
        messages = re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', block)
        if name and messages:
            found[name.group(1)] = messages
    return found
