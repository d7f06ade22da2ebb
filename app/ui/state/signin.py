"""The sign-in form: what the rep typed, whether it is sending, and the error in words."""

from __future__ import annotations

from dataclasses import dataclass

from app.store import Store, sync_state


@dataclass
class SignInForm:
    server_url: str = ""
    username: str = ""
    password: str = ""
    busy: bool = False
    error: str = ""

    @classmethod
    def for_store(cls, store: Store, default_url: str = "", *, current: str = "") -> SignInForm:
        """Pre-filled with the last user this device used and the server the app talks to now
        (`current`: FIELDSALES_SERVER_URL wins over the address saved from another server),
        else the last one it used."""
        with store.read() as session:
            state = sync_state(session)
        url = current or state.server_url or default_url
        return cls(server_url=url, username=state.user_name or "")

    def problem(self) -> str | None:
        """What is missing before sending, in words (None: ready to send)."""
        if not self.server_url.strip():
            return "enter the server address, e.g. http://192.168.1.10:8765"
        if not self.server_url.strip().startswith(("http://", "https://")):
            return "the server address starts with http:// or https://"
        if not self.username.strip():
            return "enter your user name"
        if not self.password:
            return "enter your password"
        return None
