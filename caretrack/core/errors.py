"""Domain errors that services raise and views turn into messages."""


class DomainError(Exception):
    """A rule was broken; the message is shown to the user as it is (already translated)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist or is outside the acting user's scope."""


class Forbidden(DomainError):
    """The acting user's roles do not allow this action."""
