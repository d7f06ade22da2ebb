"""Contact edits, ETA changes, conflicts, the sync status and the sign-in rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.store import (
    Accounts,
    CartService,
    Notices,
    StoreError,
    adopt_device,
    mark_applied,
    mark_dead,
    pending,
    record_sync,
    save_sign_in,
    sign_out,
    sync_state,
    sync_status,
)
from app.store.outbox import entries
from tests.unit.store.helpers import NOW, account, change, load, order


def test_a_contact_edit_is_an_outbox_entry_shown_until_confirmed(shop):
    accounts = Accounts(shop)
    mutation = accounts.update_contact(
        "A1", contact_email=" ana@cafe.example ", contact_name="Ana  Ruiz"
    )
    with shop.read() as session:
        (entry,) = pending(session)
    assert entry.mutation_id == mutation and entry.name == "update_account_contact"
    assert entry.args == {
        "account_id": "A1",
        "base_version": 1,
        "changes": {"contact_email": "ana@cafe.example", "contact_name": "Ana Ruiz"},
    }
    view = accounts.get("A1")
    assert view.contact_email == "ana@cafe.example"
    assert view.pending_contact_fields == ("contact_name", "contact_email")
    # The server confirms: the entry goes, the server's data (and version) shows.
    with shop.write() as session:
        mark_applied(session, [mutation])
    load(shop, [account("A1", "Cafe Central", contact_email="ana@cafe.example", contact_version=2)])
    view = accounts.get("A1")
    assert (view.contact_email, view.contact_name, view.contact_version) == (
        "ana@cafe.example",
        "",
        2,
    )
    assert view.pending_contact_fields == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"contact_fax": "1"}, "not contact fields: contact_fax"),
        ({"contact_email": "ana at cafe"}, "is not an email address"),
        ({"contact_phone": "call me"}, "is not a phone number"),
        ({"contact_name": "x" * 121}, "contact_name has at most 120 characters, got 121"),
        ({"contact_name": 5}, "contact_name is text, got 5"),
        ({}, "nothing to change"),
        ({"contact_name": ""}, "nothing to change: Cafe Central's contact data is the same"),
    ],
)
def test_contact_edits_are_checked(shop, changes, message):
    with pytest.raises(StoreError, match=message):
        Accounts(shop).update_contact("A1", **changes)
    with shop.read() as session:
        assert pending(session) == []


def test_accounts_are_listed_by_name_and_filtered(shop):
    accounts = Accounts(shop)
    assert [a.id for a in accounts.list_accounts()] == ["A2", "A1"]
    assert [a.id for a in accounts.list_accounts("central")] == ["A1"]
    with pytest.raises(StoreError, match="no account 'A9'"):
        accounts.get("A9")


def eta_event(id, at, old, new, new_kind="confirmed", message=""):
    return change("eta_change", id, order_id="O1", line_no=1, sku="CF-200", old=old,
                  old_kind="confirmed", new=new, new_kind=new_kind, at=at.isoformat(),
                  message=message)  # fmt: skip


def test_eta_changes_unseen_first_in_the_domains_words(shop):
    load(shop, [
        order("O1", "A1", "open"),
        eta_event("E1", NOW - timedelta(days=2), "2025-03-10", "2025-03-17"),
        eta_event("E2", NOW - timedelta(days=1), "2025-03-17", None),
    ])  # fmt: skip
    notices = Notices(shop)
    assert notices.mark_eta_changes_seen(["E2"]) == 1
    first, second = notices.eta_changes()
    assert (first.id, first.seen, first.later, first.text) == (
        "E1",
        False,
        True,
        "ETA moved from 10 Mar to 17 Mar",
    )
    assert (first.product_name, first.account_name) == (
        "Robusta Coffee Ground 500g",
        "Cafe Central",
    )
    assert (second.id, second.seen, second.text) == ("E2", True, "ETA removed: no restock date")
    assert notices.unseen_eta_changes() == 1
    # A resend of the event from the server keeps the seen flag; the server's words win.
    load(shop, [eta_event("E2", NOW - timedelta(days=1), "2025-03-17", None, message="Late ship")])
    assert [e.id for e in notices.eta_changes(include_seen=False)] == ["E1"]
    assert notices.eta_changes()[1].text == "Late ship"


def test_conflicts_are_listed_and_resolved_here(shop):
    load(shop, [change("conflict", "C1", entity="account", key=1, field="contact_phone",
                       winner_value="+34 2", loser_value="+34 1", base_version=3,
                       at=NOW.isoformat())])  # fmt: skip
    notices = Notices(shop)
    (conflict,) = notices.conflicts()
    assert (conflict.entity_key, conflict.field, conflict.winner_value, conflict.loser_value) == (
        "1",
        "contact_phone",
        "+34 2",
        "+34 1",
    )
    notices.resolve_conflict("C1")
    assert notices.conflicts() == []
    assert len(notices.conflicts(include_resolved=True)) == 1
    with pytest.raises(StoreError, match="no conflict 'C9'"):
        notices.resolve_conflict("C9")


def test_sync_status_shows_pending_work_and_the_last_error(shop, clock):
    cart = CartService(shop)
    cart.set_account("A1")
    cart.add("CF-100")
    cart.place()
    clock.advance(minutes=10)
    with shop.write() as session:
        record_sync(session, at=clock(), error="the server did not answer (timeout)")
    clock.advance(minutes=5)
    status = sync_status(shop, online=False)
    assert (status.online, status.pending_count, status.dead_count) == (False, 1, 0)
    assert status.oldest_pending_age == timedelta(minutes=15)
    assert status.last_sync_age == timedelta(minutes=15)  # the failure kept the last good time
    assert status.last_error == "the server did not answer (timeout)"
    with shop.write() as session:
        record_sync(session, at=clock())
    assert sync_status(shop, online=True).last_error is None


def test_sign_in_is_kept_and_another_user_waits_for_the_outbox(shop):
    with shop.write() as session:
        save_sign_in(
            session, server_url="https://hq.example", user_name="ana", token="t1", role="rep"
        )
    Accounts(shop).update_contact("A1", contact_name="Ana")
    with shop.write() as session:
        sign_out(session)
        state = sync_state(session)
    assert (state.user_name, state.signed_in, state.cursor) == ("ana", False, 1)
    with (
        pytest.raises(StoreError, match="1 change made by ana is not sent yet"),
        shop.write() as session,
    ):
        save_sign_in(
            session, server_url="https://hq.example", user_name="bob", token="t2", role="rep"
        )
    with shop.write() as session:
        mark_applied(session, [e.mutation_id for e in pending(session)])
        save_sign_in(
            session, server_url="https://hq.example", user_name="bob", token="t2", role="rep"
        )
        assert sync_state(session).cursor == 0  # bob starts from a full snapshot


def outbox_ids(store):
    with store.read() as session:
        return [(e.mutation_id, e.state) for e in entries(session)]


def test_sign_in_drops_nothing_unsent_even_below_the_servers_last_applied_id(shop):
    # Entries up to the server's last id may be applied changes whose answers were lost, or,
    # on a device restored from an older copy, new changes given spent ids: only the server
    # can tell (a duplicate or a reuse, at the next push), so sign-in keeps them all.
    accounts = Accounts(shop)
    for n in range(3):
        accounts.update_contact("A1", contact_name=f"Ana {n}")
    with shop.write() as session:
        device = sync_state(session).device_id
        save_sign_in(session, server_url="https://hq.example", user_name="ana", token="t",
                     role="rep", device_id=device, last_mutation_id=2)  # fmt: skip
    assert outbox_ids(shop) == [(1, "pending"), (2, "pending"), (3, "pending")]
    assert accounts.update_contact("A1", contact_name="Ana 9") == 4


def test_a_new_device_id_renumbers_what_is_still_to_send_without_gaps(shop):
    accounts = Accounts(shop)
    for n in range(4):
        accounts.update_contact("A1", contact_name=f"Ana {n}")
    with shop.write() as session:
        mark_applied(session, [1])
        mark_dead(session, 3, "poison")
        adopt_device(session, device_id="server-made-id", last_applied=0)
        assert sync_state(session).device_id == "server-made-id"
        assert [e.args["changes"]["contact_name"] for e in pending(session)] == ["Ana 1", "Ana 3"]
    assert outbox_ids(shop) == [(-3, "dead"), (1, "pending"), (2, "pending")]
    assert accounts.update_contact("A1", contact_name="Ana 9") == 3
