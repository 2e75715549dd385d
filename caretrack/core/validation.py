"""Validate a whole form in one submit: its shapes and the service's rules, every error next to its field."""

from collections.abc import Callable
from typing import TypeVar

from caretrack.core.errors import DomainError, ErrorCollector

Data = TypeVar("Data")


def typed(field, convert: Callable | None = None):
    """A field's value for the service, None when the form refused it (its own message says why) or it is empty."""
    if field.errors or field.data in (None, ""):
        return None
    return convert(field.data) if convert else field.data


def checked_data(form, read: Callable[[ErrorCollector], Data], check: Callable[[Data, ErrorCollector], object]) \
        -> Data | None:
    """The service's data when the posted form is right so far; else None, with every error put on the form.

    `read(errors)` builds the data from the typed values, None where the form refused a value, and keeps the
    errors of what it parses itself (an ID number) in `errors`. When anything is wrong, `check(data, errors)` runs
    the service's rules on the rest, so that shape and rule errors show together rather than one per submit.
    The service still checks its rules when it is called with the data.
    """
    if not form.is_submitted():
        return None
    shaped = form.validate()
    errors = ErrorCollector()
    data = read(errors)
    if shaped and not errors.errors:
        return data
    try:
        check(data, errors)
        errors.raise_if_any()
    except DomainError as error:
        form.add_domain_error(error)
    return None
