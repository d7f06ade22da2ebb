"""Signing out (refused while changes wait), a token the server does not know (the app asks
to sign in again), the outbox watch that wakes the sync, and listeners that fail."""

from __future__ import annotations

import pytest

from app.store import Accounts, sync_state
from app.ui.state.signout import sign_out_ask, signed_out_words
from app.ui.state.syncbar import OutboxWatch
from app.ui.sync_service import SignOutRefused
from tests.unit.ui.test_sync_service import place_one


def test_sign_out_is_refused_while_changes_wait_and_says_how_many():
    ask = sign_out_ask("rep1", 2, online=True)
    assert not ask.allowed and ask.waiting == 2 and ask.title == "Changes wait to be sent"
    assert ask.text.startswith("2 changes made as rep1 are not sent yet.")
    one = sign_out_ask("rep1", 1, online=False)
    assert one.text.startswith("1 change made as rep1 is not sent yet.")
    assert "when you have signal" in one.text
    free = sign_out_ask("rep1", 0, online=False)
    assert free.allowed and free.title == "Sign out?" and "Sign out rep1" in free.text


def test_the_words_for_a_token_the_server_does_not_know_say_it_once():
    words = signed_out_words("sign in again: unknown device token: sign in again")
    assert words == (
        "The server did not accept this device's sign-in (unknown device token). "
        "Sign in again: nothing waiting on this device is lost."
    )


def test_the_outbox_watch_sees_every_new_change_even_after_an_order_was_sent(device):
    store, sync = device
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    assert sync.sync().result(timeout=60).ok
    watch = OutboxWatch(store)
    assert not watch.new_changes()
    place_one(store)
    assert watch.new_changes() and not watch.new_changes()
    assert sync.sync().result(timeout=60).ok  # the outbox is empty again
    account = Accounts(store).list_accounts()[0]
    Accounts(store).update_contact(account.id, contact_phone="+1 555 0100")
    assert watch.new_changes()  # an outbox count would have gone 1 -> 0 -> 1: no rise seen


def test_sign_out_waits_for_changes_then_forgets_the_token_and_tells_the_server(device):
    store, sync = device
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    assert sync.sync().result(timeout=60).ok
    place_one(store)
    with pytest.raises(SignOutRefused, match=r"1 change waits to be sent") as refused:
        sync.sign_out().result(timeout=30)
    assert refused.value.waiting == 1
    with store.read() as session:
        assert sync_state(session).signed_in
    assert sync.sync().result(timeout=60).ok
    token = _token(store)
    assert sync.sign_out().result(timeout=30) == "rep1"
    with store.read() as session:
        assert not sync_state(session).signed_in
    # The server revoked that token: a copy of it no longer works there.
    _set_token(store, token)
    outcome = sync.sync().result(timeout=60)
    assert outcome.signed_out and "signed out" in (outcome.error or "")


def test_a_token_the_server_does_not_know_is_forgotten_and_the_outbox_kept(device):
    store, sync = device
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    assert sync.sync().result(timeout=60).ok
    place_one(store)
    _set_token(store, "not-a-token-this-server-gave")
    outcome = sync.sync().result(timeout=60)
    assert not outcome.ok and outcome.signed_out
    assert "unknown device token" in (outcome.error or "")
    with store.read() as session:
        assert not sync_state(session).signed_in
    assert "unknown device token" in (sync.signed_out_reason or "")  # for a window opened later
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    assert sync.signed_out_reason is None
    again = sync.sync().result(timeout=60)
    assert again.ok and again.pushed == 1  # the order made before waited and went


def test_a_listener_that_fails_keeps_no_other_from_hearing(device):
    _store, sync = device
    heard: list[bool] = []

    def broken(_news: object) -> None:
        raise RuntimeError("the browser session is gone")

    sync.on_progress(broken)
    sync.on_cycle_done(broken)
    sync.on_cycle_done(lambda outcome: heard.append(outcome.ok))
    assert sync.sign_in("http://central", "rep1", "demo").result(timeout=30) == "rep1"
    outcome = sync.sync().result(timeout=60)
    assert outcome.ok and heard == [True] and not sync.running


def _token(store) -> str:
    with store.read() as session:
        token = sync_state(session).token
    assert token
    return token


def _set_token(store, token: str) -> None:
    with store.write() as session:
        session.connection().exec_driver_sql("UPDATE sync_state SET token = ?", (token,))
