"""A business "no": the mutation is answered with a `rejected` outcome (2xx), not an error."""


class Refusal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(Exception):
    """An id in the path or body names nothing the caller may see (404)."""


class Unprocessable(Exception):
    """The request is well formed but a value in it cannot be (422): the message starts with
    the field's name, as a validation error does."""


class Conflict(Exception):
    """The request contradicts the current state (409); `body` says what the state is."""

    def __init__(self, message: str, body: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.body = body or {}
