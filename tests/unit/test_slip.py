"""Dates at a confidence, learned from how late suppliers were (app.domain.slip)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.availability import DemandQueue, date_line, date_queue
from app.domain.model import AllocationPolicy, DomainError, EtaKind, QueuedLine, Receipt, Supply
from app.domain.slip import (
    Confidence,
    FillCurve,
    Need,
    SlipBasis,
    SlipBook,
    SlipDistribution,
    SlipSample,
    promise_day,
)

TODAY = date(2026, 11, 2)  # a Monday
C, E = EtaKind.CONFIRMED, EtaKind.ESTIMATED


def book(**suppliers: list[int]) -> SlipBook:
    """Suppliers' whole-receipt slips, all against confirmed dates."""
    return SlipBook(
        SlipSample(name, None, SlipBasis.CONFIRMED, FillCurve.whole(s))
        for name, slips in suppliers.items()
        for s in slips
    )


def test_a_distribution_is_the_share_of_receipts_in_by_then():
    d = SlipDistribution([FillCurve.whole(s) for s in (0, 0, 0, 2, 5)])
    assert [d.cdf(s) for s in (-1, 0, 1, 2, 4, 5)] == [0.0, 0.6, 0.6, 0.8, 0.8, 1.0]


def test_little_history_is_shrunk_toward_the_prior():
    prior = SlipDistribution([FillCurve.whole(10)] * 4)
    lucky = SlipDistribution([FillCurve.whole(0)], prior, k=9)
    # one punctual receipt weighs 1 / (1 + 9): the supplier is not taken as punctual
    assert lucky.cdf(0) == pytest.approx(0.1)
    assert lucky.cdf(10) == pytest.approx(1.0)
    many = SlipDistribution([FillCurve.whole(0)] * 81, prior, k=9)
    assert many.cdf(0) == pytest.approx(0.9)


def test_a_fill_curve_says_when_a_fraction_had_arrived():
    part = FillCurve(((0, 0.6), (12, 1.0)))
    d = SlipDistribution([part])
    assert d.cdf(0, fraction=0.5) == 1.0  # the first half came on time
    assert d.cdf(0, fraction=0.9) == 0.0  # the rest 12 days late
    assert d.cdf(12, fraction=1.0) == 1.0
    cancelled = SlipDistribution([FillCurve(((3, 0.5),))])
    assert cancelled.cdf(1000, fraction=1.0) == 0.0  # the rest never came


@pytest.mark.parametrize(
    "steps", [(), ((0, 0.5), (1, 0.4)), ((3, 0.5), (1, 1.0)), ((0, 1.2),), ((0, 0.0),)]
)
def test_a_fill_curve_refuses_steps_that_cannot_be(steps):
    with pytest.raises(DomainError, match="fill curve"):
        FillCurve(steps)


def test_the_promise_is_the_quantile_of_the_suppliers_slip():
    slips = [0] * 70 + [3] * 20 + [8] * 10
    b = book(acme=slips)
    need = [Need(b.distribution("acme", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0)]
    day = {c: promise_day(need, today=TODAY, confidence=c).day for c in (0.5, 0.7, 0.8, 0.95)}
    # with shrinkage toward the pool (which is the same supplier here) the quantiles hold
    assert day == {
        0.5: date(2026, 11, 10),
        0.7: date(2026, 11, 10),
        0.8: date(2026, 11, 13),
        0.95: date(2026, 11, 18),
    }


def test_a_punctual_supplier_does_not_pay_for_an_unreliable_one():
    b = book(punctual=[0] * 60, late=[0] * 20 + [6] * 40)
    expected = date(2026, 11, 10)
    on_time = promise_day(
        [Need(b.distribution("punctual", None, SlipBasis.CONFIRMED), expected, 1.0)],
        today=TODAY,
        confidence=0.9,
    ).day
    late = promise_day(
        [Need(b.distribution("late", None, SlipBasis.CONFIRMED), expected, 1.0)],
        today=TODAY,
        confidence=0.9,
    ).day
    assert on_time == expected
    assert late == expected + timedelta(days=6)


def test_one_early_receipt_does_not_make_every_supplier_early():
    # The root of the history is shrunk toward the receipts' own word, like every level.
    b = book(once=[-11])
    need = [Need(b.distribution("other", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0)]
    assert promise_day(need, today=TODAY, confidence=0.95).day == date(2026, 11, 10)


def test_a_supplier_that_always_came_early_is_not_promised_before_its_date():
    b = book(early=[-3] * 200)
    need = [Need(b.distribution("early", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0)]
    assert b.distribution("early", None, SlipBasis.CONFIRMED).cdf(-3) > 0.9
    for level in (0.5, 0.95):
        assert promise_day(need, today=TODAY, confidence=level).day == date(2026, 11, 10)


def test_an_overdue_receipt_is_projected_from_the_late_tail_never_today():
    # 5 days late already: of the receipts more than 5 days late, half came on day 6, 3 in 4
    # by day 8, all by day 12 (those 5 days late or less say nothing any more)
    b = book(acme=[0] * 50 + [5] * 4 + [6] * 8 + [8] * 4 + [12] * 4)
    expected = TODAY - timedelta(days=5)
    need = [Need(b.distribution("acme", None, SlipBasis.CONFIRMED), expected, 1.0)]
    got = {c: promise_day(need, today=TODAY, confidence=c) for c in (0.5, 0.75, 0.8)}
    assert {c: (p.day - expected).days for c, p in got.items()} == {0.5: 6, 0.75: 8, 0.8: 12}
    assert not any(p.assumed for p in got.values())


def test_a_receipt_later_than_all_history_rests_on_an_assumption_and_says_so():
    b = book(acme=[0, 1, 2])
    expected = TODAY - timedelta(days=10)
    need = [Need(b.distribution("acme", None, SlipBasis.CONFIRMED), expected, 1.0)]
    got = promise_day(need, today=TODAY, confidence=0.95)
    assert got.assumed
    assert got.day is not None and got.day > TODAY  # never "today"


def test_a_late_receipt_with_no_own_history_that_late_uses_the_pooled_tail():
    b = book(acme=[0] * 30, other=[0] * 10 + [9] * 10)
    expected = TODAY - timedelta(days=4)
    need = [Need(b.distribution("acme", None, SlipBasis.CONFIRMED), expected, 1.0)]
    got = promise_day(need, today=TODAY, confidence=0.9)
    assert got.pooled and not got.assumed
    assert got.day == expected + timedelta(days=9)


def test_a_line_that_needs_two_receipts_waits_for_both():
    b = book(a=[0] * 50 + [4] * 50, b=[0] * 50 + [4] * 50)
    one = promise_day(
        [Need(b.distribution("a", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0)],
        today=TODAY,
        confidence=0.5,
    ).day
    both = promise_day(
        [
            Need(b.distribution("a", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0),
            Need(b.distribution("b", None, SlipBasis.CONFIRMED), date(2026, 11, 10), 1.0),
        ],
        today=TODAY,
        confidence=0.5,
    ).day
    assert one == date(2026, 11, 10)
    assert both == date(2026, 11, 14)  # 0.5 x 0.5 < 0.5: both on time is not likely


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

slip_lists = st.lists(st.integers(min_value=-2, max_value=30), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(slip_lists, st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.integers(-10, 20))
def test_a_higher_confidence_never_gives_an_earlier_date(slips, c1, c2, offset):
    b = book(acme=slips)
    need = [
        Need(
            b.distribution("acme", None, SlipBasis.CONFIRMED),
            TODAY + timedelta(days=offset),
            1.0,
        )
    ]
    low, high = sorted((c1, c2))
    d_low = promise_day(need, today=TODAY, confidence=low).day
    d_high = promise_day(need, today=TODAY, confidence=high).day
    assert d_low is not None and d_high is not None
    assert d_low <= d_high
    assert d_low >= TODAY


@settings(max_examples=200, deadline=None)
@given(slip_lists, slip_lists, st.floats(0.05, 0.95), st.integers(-10, 20), st.integers(1, 20))
def test_a_late_receipt_never_makes_a_date_earlier(own, pool, level, offset, extra):
    """A new receipt that came later than the date promised now never makes the next promise
    earlier (with the pool's weight shrinking as the supplier's own history grows)."""
    expected = TODAY + timedelta(days=offset)

    def promised(slips: list[int]) -> date:
        b = book(acme=slips, other=pool)
        d = b.distribution("acme", None, SlipBasis.CONFIRMED)
        day = promise_day([Need(d, expected, 1.0)], today=TODAY, confidence=level).day
        assert day is not None
        return day

    before = promised(own)
    slip_then = (before - expected).days
    after = promised([*own, max(slip_then, 0) + extra])
    assert after >= before


queued = st.builds(
    QueuedLine,
    line_id=st.integers(1, 30).map(str),
    order_id=st.sampled_from(["a", "b", "7", "10"]),
    item=st.just("W"),
    waiting=st.integers(0, 9),
    committed_at=st.sampled_from(
        [datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC)]
    ),
    tier=st.integers(1, 3),
    order_value=st.sampled_from([0, 100]),
)


@given(
    st.lists(queued, max_size=12, unique_by=lambda q: (q.order_id, q.line_id)),
    st.sampled_from(list(AllocationPolicy)),
    st.randoms(),
)
def test_the_queue_is_a_total_order_whatever_the_input_order(lines, policy, rnd):
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert DemandQueue("W", lines, policy).lines == DemandQueue("W", shuffled, policy).lines


def test_line_ids_rank_as_numbers_not_text():
    at = datetime(2026, 11, 1, 9, tzinfo=UTC)
    nine = QueuedLine("9", "o1", "W", 5, at)
    ten = QueuedLine("10", "o1", "W", 5, at)
    queue = DemandQueue("W", [ten, nine], AllocationPolicy.FIFO)
    assert [line.line_id for line in queue.lines] == ["9", "10"]
    supply = Supply("W", 0, (Receipt("r1", "W", 5, date(2026, 11, 10)),))
    dated = date_queue(supply, queue, today=TODAY)
    assert dated["9"].eta is not None and dated["10"].eta is None


# --------------------------------------------------------------------------------------------
# Lines dated at a confidence
# --------------------------------------------------------------------------------------------


def test_a_line_is_dated_at_the_confidence_and_shows_its_likely_day():
    b = book(late=[0] * 50 + [3] * 30 + [7] * 20)
    supply = Supply("W", 0, (Receipt("r1", "W", 10, date(2026, 11, 10), C, supplier="late"),))
    got = date_line(supply, 0, 4, today=TODAY, confidence=Confidence(b, 0.9))
    assert got.eta is not None and got.eta.date == date(2026, 11, 17)
    assert got.eta.kind is C
    assert got.likely == date(2026, 11, 10)
    nominal = date_line(supply, 0, 4, today=TODAY)
    assert nominal.eta is not None and nominal.eta.date == date(2026, 11, 10)


def test_the_front_of_a_part_delivery_comes_before_its_back():
    part = [FillCurve(((0, 0.5), (10, 1.0)))] * 20
    b = SlipBook(SlipSample("halves", None, SlipBasis.CONFIRMED, c) for c in part)
    supply = Supply("W", 0, (Receipt("r1", "W", 10, date(2026, 11, 10), C, supplier="halves"),))
    conf = Confidence(b, 0.9)
    front = date_line(supply, 0, 5, today=TODAY, confidence=conf)
    back = date_line(supply, 5, 5, today=TODAY, confidence=conf)
    assert front.eta is not None and front.eta.date == date(2026, 11, 10)
    assert back.eta is not None and back.eta.date == date(2026, 11, 20)


def test_a_line_behind_a_late_receipt_waits_for_it_too():
    """Units of the second receipt go to the lines ahead while the first is late."""
    b = book(late=[10] * 200, punctual=[0] * 200)
    supply = Supply(
        "W",
        0,
        (
            Receipt("r1", "W", 10, date(2026, 11, 5), C, supplier="late"),
            Receipt("r2", "W", 10, date(2026, 11, 9), C, supplier="punctual"),
        ),
    )
    got = date_line(supply, 10, 5, today=TODAY, confidence=Confidence(b, 0.9))
    assert got.eta is not None and got.eta.date == date(2026, 11, 15)


def test_a_line_on_an_overdue_receipt_is_estimated_and_says_overdue():
    b = book(acme=[0] * 20 + [5] * 10 + [9] * 10)
    supply = Supply(
        "W", 0, (Receipt("r1", "W", 10, TODAY - timedelta(days=3), C, supplier="acme"),)
    )
    got = date_line(supply, 0, 2, today=TODAY, confidence=Confidence(b, 0.9))
    assert got.overdue
    assert got.eta is not None and got.eta.kind is E
    assert got.eta.date == TODAY - timedelta(days=3) + timedelta(days=9)


def test_dates_at_a_confidence_are_calibrated_on_simulated_receipts():
    """Receipts drawn from one supplier's behaviour; dates promised from 200 earlier receipts:
    the share that arrives by the date promised is close to the confidence."""
    rng = random.Random(7)

    def slip() -> int:
        return 0 if rng.random() < 0.7 else rng.randint(2, 10)

    history = book(acme=[slip() for _ in range(200)])
    for level in (0.8, 0.9, 0.95):
        conf = Confidence(history, level)
        on_time = 0
        trials = 2000
        for _ in range(trials):
            expected = TODAY + timedelta(days=rng.randint(3, 20))
            supply = Supply("W", 0, (Receipt("r", "W", 5, expected, C, supplier="acme"),))
            promised = date_line(supply, 0, 5, today=TODAY, confidence=conf).eta
            assert promised is not None
            on_time += expected + timedelta(days=slip()) <= promised.date
        assert abs(on_time / trials - level) < 0.04, (level, on_time / trials)
