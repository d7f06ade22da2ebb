"""The store's one exception type: bad input, with a message that says what to do."""

from __future__ import annotations


class StoreError(ValueError):
    """Bad input to the device's store (unknown account, empty cart, malformed change, ...).

    A ValueError like app.domain's DomainError, so a caller may catch both with one clause.
    Raised before or inside a transaction that is then rolled back: nothing is half-written.
    """
