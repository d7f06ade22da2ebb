"""A receipt preview dates the queue as committing does: at the promise confidence, through the
supplier's slip history. It once dated it on the receipts' own dates, so with a history its ETA
moves started "from" a date the line never had (the console e2e found it on the seeded demo)."""

from __future__ import annotations

from tests.integration.conftest import days, sign_in


async def test_preview_moves_start_from_the_date_the_line_has(server, client, world):
    world.user("rep1")
    world.user("boss", role="supervisor")
    account = world.account("rep1")
    world.product("A", 0)
    boss = await sign_in(client, "boss")
    rep = await sign_in(client, "rep1")
    # The supplier's history: every receipt came 4 days after its confirmed date.
    for _ in range(6):
        late = world.receipt("A", 10, days(-4))
        answer = await boss.post(f"/warehouse/receipts/{late}/receive", {})
        assert answer.status_code == 200, answer.text
    world.product("B", 0)
    world.receipt("B", 4, days(5))
    later = world.receipt("B", 10, days(12))
    waiting = await rep.order(account, ("B", 6))  # completes from the day-12 receipt
    dated = (await boss.get(f"/supervisor/orders/{waiting['order_id']}")).json()
    line = dated["order"]["lines"][0]
    assert line["eta"] > days(12).isoformat()  # the history's slip, not the receipt's date
    # 2 of the day-12 receipt arrive now: the line needs only the day-5 receipt's 4 more.
    answer = await boss.post("/warehouse/receipts/preview", {"receipt_id": later, "quantity": 2})
    assert answer.status_code == 200, answer.text
    for policy in ("fifo", "priority"):
        (move,) = answer.json()[policy]["eta_moves"]
        assert move["order_id"] == waiting["order_id"]
        assert (move["old"], move["old_kind"]) == (line["eta"], line["eta_kind"]), move
        assert move["new"] < line["eta"]
    # Committing gives the line the date the preview said.
    done = await boss.post(f"/warehouse/receipts/{later}/receive", {"quantity": 2})
    assert done.status_code == 200, done.text
    after = (await boss.get(f"/supervisor/orders/{waiting['order_id']}")).json()
    assert after["order"]["lines"][0]["eta"] == move["new"]
