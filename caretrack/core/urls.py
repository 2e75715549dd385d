"""URL converters: the `<int:...>` of every route accepts only what a database id can be."""

from werkzeug.routing import IntegerConverter, ValidationError

# Primary keys are 32-bit integers on PostgreSQL; a larger number cannot name a row, and binding one to a query
# fails in the database driver (an overflow) instead of finding nothing.
LARGEST_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A positive whole number that fits an id column; anything else is no match, so a 404."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 1 <= number <= LARGEST_ID:
            raise ValidationError()
        return number
