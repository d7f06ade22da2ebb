"""Signing out: allowed once nothing waits to be sent (changes go under the signed-in user's
name), and the words when the server no longer knows this device's sign-in."""

from __future__ import annotations

from dataclasses import dataclass

from app.ui.state.text import plural


@dataclass(frozen=True, slots=True)
class SignOutAsk:
    allowed: bool  # False: show `text` and offer to send the changes first
    title: str
    text: str
    waiting: int


def sign_out_ask(user: str, waiting: int, *, online: bool) -> SignOutAsk:
    """What the sign-out dialog says for this user with `waiting` unsent changes."""
    who = user or "this user"
    if waiting:
        verb = "is" if waiting == 1 else "are"
        text = (
            f"{plural(waiting, 'change')} made as {who} {verb} not sent yet. Send them before "
            "signing out: they go to the server under your name."
        )
        if not online:
            text += " The server did not answer at the last try: send them when you have signal."
        return SignOutAsk(False, "Changes wait to be sent", text, waiting)
    text = (
        f"Sign out {who} on this device? Signing in again needs the server. Another user who "
        "signs in here gets their own accounts and orders."
    )
    return SignOutAsk(True, "Sign out?", text, 0)


def signed_out_words(error: str | None) -> str:
    """The sign-in screen's words when a sync found the device signed out (a token the server
    does not know: another server, a revoked device)."""
    why = (error or "").removeprefix("sign in again: ").removesuffix(": sign in again")
    return (
        f"The server did not accept this device's sign-in ({why or 'signed out'}). "
        "Sign in again: nothing waiting on this device is lost."
    )
