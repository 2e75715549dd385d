"""URL converters: the `<int:...>` of every route accepts only what a database id can be."""

from werkzeug.routing import IntegerConverter, ValidationError

# Primary keys are 32-bit integers on PostgreSQL; a larger number cannot name a row, and binding one to a query
# fails in the database driver (an overflow) instead of finding nothing.
LARGEST_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A positive whole number that fits an id column; anything else is no match, so a 404."""

    # ASCII digits only: `\d` also matches full-width and other Unicode digits, which int() reads as numbers.
    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 1 <= number <= LARGEST_ID:
            raise ValidationError()
        return number


def parse_id(raw) -> int | None:
    """A number from a query string or form as an id: ASCII digits within 1..LARGEST_ID, else None.

    `str.isdigit()` is no check: it accepts "²" and full-width digits, and numbers no column can hold.
    """
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= LARGEST_ID else None
