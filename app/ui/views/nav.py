"""What a screen may ask of the app frame: go somewhere, say something."""

from __future__ import annotations

from typing import Protocol


class Nav(Protocol):
    @property
    def phone(self) -> bool: ...

    def go(self, screen: str, arg: str | None = None) -> None: ...

    def toast(self, text: str, *, error: bool = False) -> None: ...

    def changed(self) -> None:
        """Data changed (an order placed, a line cancelled): refresh badges and the sync bar."""
        ...
