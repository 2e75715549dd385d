"""Read the forms of a rendered page the way a browser submits them: each select's chosen value."""

from html.parser import HTMLParser


class _Selects(HTMLParser):
    def __init__(self):
        super().__init__()
        self.chosen: dict[str, list[str]] = {}
        self.first: dict[str, str | None] = {}
        self._name: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._name = attrs.get("name") or attrs.get("id") or ""
            self.chosen.setdefault(self._name, [])
            self.first.setdefault(self._name, None)
        elif tag == "option" and self._name is not None:
            value = attrs.get("value", "")
            if self.first[self._name] is None:
                self.first[self._name] = value
            if "selected" in attrs:
                self.chosen[self._name].append(value)

    def handle_endtag(self, tag):
        if tag == "select":
            self._name = None


def selected(html: str) -> dict[str, str | None]:
    """Each select's value as a browser would submit it: the option marked selected, else the first."""
    parser = _Selects()
    parser.feed(html)
    return {name: (chosen[-1] if chosen else parser.first[name]) for name, chosen in parser.chosen.items()}


def marked(html: str) -> dict[str, list[str]]:
    """The options each select marks as selected (none: the browser falls back to the first)."""
    parser = _Selects()
    parser.feed(html)
    return parser.chosen
