"""Domain errors that services raise and views turn into messages."""


class DomainError(Exception):
    """A rule was broken; the message is shown to the user as it is (already translated)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def errors(self) -> list["DomainError"]:
        """Each broken rule on its own, to show next to its field."""
        return [self]


class DomainErrors(DomainError):
    """Several rules broken at once, so that a form shows every error in one submit."""

    def __init__(self, errors: list[DomainError]):
        super().__init__(" ".join(error.message for error in errors))
        self._errors = errors

    @property
    def errors(self) -> list[DomainError]:
        return list(self._errors)


class ErrorCollector:
    """Run several checks, keep every error they raise, and raise them together at the end."""

    def __init__(self):
        self.errors: list[DomainError] = []

    def run(self, check, *args, **kwargs):
        """The check's result, or None when it raised (its errors are kept)."""
        try:
            return check(*args, **kwargs)
        except DomainError as error:
            self.errors.extend(error.errors)
            return None

    def add(self, message: str, field: str | None = None) -> None:
        self.errors.append(DomainError(message, field=field))

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise DomainErrors(self.errors)


class NotFound(DomainError):
    """The object does not exist or is outside the acting user's scope."""


class Forbidden(DomainError):
    """The acting user's roles do not allow this action."""
