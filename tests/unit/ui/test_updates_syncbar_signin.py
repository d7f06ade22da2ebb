"""Updates (ETA moves, conflicts), the sync bar's words, the sign-in form and service."""

from __future__ import annotations

import pytest

from app.store import CartService, record_sync, save_sign_in
from app.ui.state.signin import SignInForm
from app.ui.state.syncbar import progress_of, sync_bar
from app.ui.state.updates import UpdatesState
from app.ui.sync_service import SignInFailed, SyncService
from sync.engine import SyncProgress
from tests.unit.ui.conftest import NOW, change, line_data, load, verdict


def test_eta_moves_read_product_account_and_dates(shop, placed, clock):
    verdict(shop, placed, outcome="backordered")
    load(shop, [change("eta_change", "E1", order_id=placed, line_no=1, sku="CF-200",
                       old="2025-03-12", old_kind="confirmed", new="2025-03-19",
                       new_kind="confirmed", at=NOW.isoformat())])  # fmt: skip
    clock.advance(hours=2)
    state = UpdatesState(shop)
    (row,) = state.eta_rows()
    assert row.text == "Robusta Ground 500g for Cafe Roma: 12 Mar -> 19 Mar"
    assert row.detail == "ETA moved from 12 Mar to 19 Mar"
    assert (row.later, row.seen, row.when) == (True, False, "2 h ago")
    assert state.unseen() == 1
    assert state.mark_all_seen() == 1
    assert state.eta_rows()[0].seen and state.unseen() == 0


def test_conflicts_show_both_values(shop):
    load(shop, [change("conflict", "C1", entity="account", key="A1", field="contact_phone",
                       winner_value="+39 06 1234", loser_value="+39 06 9999",
                       at=NOW.isoformat())])  # fmt: skip
    state = UpdatesState(shop)
    (row,) = state.conflict_rows()
    assert (row.title, row.kept, row.lost) == ("Phone of Cafe Roma", "+39 06 1234", "+39 06 9999")
    state.resolve("C1")
    assert state.conflict_rows() == []


def test_the_sync_bar_says_when_what_and_why(shop, clock):
    view = sync_bar(shop, online=False)
    assert (view.status, view.last_sync, view.pending) == (
        "Offline", "Last sync just now", "Nothing waiting to send"
    )  # fmt: skip
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100", 1)
    cart.place()
    clock.advance(minutes=25)
    with shop.write() as session:
        record_sync(
            session, at=shop.now(), error="cannot reach the server at http://x (ConnectError)"
        )
    clock.advance(hours=2)
    view = sync_bar(shop, online=False)
    assert view.last_sync == "Last sync 2 h ago"
    assert view.pending == "1 change waiting, oldest 2 h" and view.pending_count == 1
    assert view.error == "cannot reach the server at http://x (ConnectError)"
    with shop.write() as session:
        record_sync(session, at=shop.now())
    assert sync_bar(shop, online=True).error is None


def test_progress_shows_how_far_a_first_download_is():
    share, words = progress_of(
        SyncProgress("snapshot", 12_000, None, "downloading stock: 12000 records", "stock")
    )
    assert share == pytest.approx(4 / 11)  # no total from the server: section by section
    assert words == "First download: stock (5 of 11), 12,000 records"
    share, words = progress_of(SyncProgress("snapshot", 150_000, 200_000, "", "stock"))
    assert share == pytest.approx(0.75)
    assert words == "First download: stock (5 of 11), 150,000 of 200,000 records"
    _, words = progress_of(SyncProgress("snapshot", 10, None, "", "eta_changes"))
    assert words == "First download: ETA changes (10 of 11), 10 records"
    assert progress_of(SyncProgress("push", 1, 4)) == (0.25, "Sending changes: 1 of 4")
    assert progress_of(SyncProgress("pull", 50, None, "50 update(s) received")) == (
        None, "Receiving updates: 50 update(s) received"
    )  # fmt: skip


def test_sign_in_form_says_what_is_missing(store):
    form = SignInForm.for_store(store, "http://127.0.0.1:8765")
    assert form.server_url == "http://127.0.0.1:8765" and form.username == ""
    assert form.problem() == "enter your user name"
    form.username, form.server_url = "rep1", "server:8765"
    assert form.problem() == "the server address starts with http:// or https://"
    form.server_url = "http://server:8765"
    assert form.problem() == "enter your password"
    form.password = "demo"
    assert form.problem() is None
    with store.write() as session:
        save_sign_in(session, server_url="http://10.0.0.2:8765", user_name="rep2", token="t",
                     role="rep")  # fmt: skip
    again = SignInForm.for_store(store, "http://127.0.0.1:8765")
    assert (again.server_url, again.username) == ("http://10.0.0.2:8765", "rep2")
    # The server the app was pointed at (FIELDSALES_SERVER_URL) wins over the saved one.
    pointed = SignInForm.for_store(store, "http://127.0.0.1:8765", current="http://10.0.0.9:8765")
    assert (pointed.server_url, pointed.username) == ("http://10.0.0.9:8765", "rep2")


def test_signing_in_to_a_server_that_is_not_there_says_so(store):
    sync = SyncService(store, device_name="test")
    try:
        with pytest.raises(SignInFailed, match=r"cannot reach the server at http://127\.0\.0\.1:9"):
            sync.sign_in("http://127.0.0.1:9", "rep1", "demo").result(timeout=30)
        with pytest.raises(SignInFailed, match="starts with http"):
            sync.sign_in("127.0.0.1:9", "rep1", "demo").result(timeout=5)
        outcome = sync.sync().result(timeout=30)  # never signed in: an outcome, not a crash
        assert not outcome.ok and "sign in" in (outcome.error or "")
    finally:
        sync.close()


def test_refused_and_dead_lettered_changes_are_listed_with_the_servers_words(shop, clock):
    from app.store import Accounts, Orders, mark_applied, mark_dead
    from app.store.outbox import mark_refused

    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100", 1)
    lost = cart.place()
    cart.add("CF-100", 2)
    placed = cart.place()
    kept = placed.order_id
    with shop.write() as session:
        mark_applied(session, [placed.mutation_id])
    verdict(shop, kept, lines=[line_data(1, "CF-100", 2)])
    cancel = Orders(shop).cancel_line(kept, 1)
    edit = Accounts(shop).update_contact(
        "A2", contact_phone="+39 06 5555", contact_email="bn@example.com"
    )
    with shop.write() as session:
        mark_dead(session, lost.mutation_id, "the server could not apply this mutation")
        mark_refused(session, cancel, f"order {kept} is already cancelled")
        mark_refused(session, edit, "account_id 2: no such account among yours")
    clock.advance(hours=2)
    rows = {r.text: r for r in UpdatesState(shop).refused_rows()}
    assert set(rows) == {
        f"Order {lost.order_id[:8]} for Cafe Roma",
        f"Cancel of line 1 of order {kept[:8]} for Cafe Roma",
        "Contact edit (phone, email) for Bistro Norte",
    }
    dead = rows[f"Order {lost.order_id[:8]} for Cafe Roma"]
    assert (dead.dead, dead.reason, dead.when) == (
        True, "the server could not apply this mutation", "made 2 h ago"
    )  # fmt: skip
    line = rows[f"Cancel of line 1 of order {kept[:8]} for Cafe Roma"]
    assert (line.dead, line.reason, line.order_id) == (
        False, f"order {kept} is already cancelled", kept
    )  # fmt: skip
    assert rows["Contact edit (phone, email) for Bistro Norte"].order_id is None
    assert sync_bar(shop, online=True).pending == (
        "Nothing waiting to send; 3 changes refused by the server"
    )
