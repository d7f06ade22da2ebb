"""What a console screen may ask of the console frame."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Host(Protocol):
    @property
    def phone(self) -> bool: ...

    def go(self, screen: str, arg: str | None = None) -> None: ...

    def toast(self, text: str, *, error: bool = False) -> None: ...

    async def offer_file(self, path: Path, what: str) -> None:
        """Say where an exported file is; on the web also offer it as a download."""
        ...
