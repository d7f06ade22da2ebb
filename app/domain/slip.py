"""How late suppliers deliver, learned from their receipts, and the dates that lets us promise.

*Slip* is the day units arrived minus the day they were expected: the date the supplier confirmed,
the nominal date of an estimated receipt, or, once a receipt was moved (a delay the supplier
announced, the rest of a part delivery), the date it was moved to. A receipt can arrive in parts,
so one receipt's history is a *fill curve*: after s days of slip, a fraction f of it had arrived.
A line that needs the first 40% of a receipt waits for less than one that needs all of it.

The model is the empirical distribution of those curves, per supplier and basis (confirmed,
estimated, moved), and per supplier and item where the item has history of its own. Little
history is shrunk toward the level above (item -> supplier -> all suppliers of that basis ->
all suppliers): weight n / (n + k) on the curves of the level itself, so one punctual receipt
does not make a supplier look punctual.

A date promised at confidence c is the first day by which, with probability c, every receipt the
line depends on has brought the units it needs (receipts are independent: the probability that
all have arrived is the product). The distribution is conditioned on what is known: a receipt
not here yet comes today at the earliest, and an overdue one is read from the tail
P(slip <= s | slip > days late), so it is never promised for "today". With no history that late
anywhere, the receipt is assumed to come within as many days again as it is already late (at
least a week), uniformly, and the date says it rests on that assumption (`Promise.assumed`).

Plain values and functions; no I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from app.domain.model import DomainError

PRIOR_WEIGHT = 10.0  # k in n / (n + k): ten receipts of its own weigh as much as the prior
FRACTION_STEPS = 20  # fractions are rounded up to twentieths (5% of a receipt)
HORIZON_DAYS = 730  # a date further out than two years is no date
UNKNOWN_TAIL_MIN_DAYS = 7


class SlipBasis(StrEnum):
    CONFIRMED = "confirmed"  # slip against the date the supplier confirmed
    ESTIMATED = "estimated"  # against the nominal date (order date + lead time)
    MOVED = "moved"  # against the date the receipt was moved to


def require_confidence(level: object, what: str = "confidence") -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DomainError(f"{what} must be a probability between 0 and 1, like 0.95; got {level!r}")
    return float(level)


def fraction_bucket(fraction: float) -> int:
    """The twentieth a fraction rounds up to (1..FRACTION_STEPS): rounding up is the safe side."""
    return min(FRACTION_STEPS, max(1, math.ceil(fraction * FRACTION_STEPS - 1e-9)))


@dataclass(frozen=True, slots=True)
class FillCurve:
    """One receipt's arrival against the date it was expected: (slip days, fraction of the
    receipt arrived by then), both increasing. A curve that stops short of 1 never brought the
    rest (cancelled)."""

    steps: tuple[tuple[int, float], ...]

    def __post_init__(self) -> None:
        steps = tuple((int(s), float(f)) for s, f in self.steps)
        if not steps:
            raise DomainError("a fill curve needs at least one delivery")
        previous_slip, previous_fraction = -(10**6), 0.0
        for slip, fraction in steps:
            if not previous_fraction < fraction <= 1.0 + 1e-9 or slip < previous_slip:
                raise DomainError(
                    "a fill curve's steps must be (slip, fraction) with slips not decreasing and "
                    f"fractions increasing up to 1, got {list(self.steps)}"
                )
            previous_slip, previous_fraction = slip, fraction
        object.__setattr__(self, "steps", steps)

    @classmethod
    def whole(cls, slip: int) -> FillCurve:
        """A receipt that arrived in one delivery, `slip` days after it was expected."""
        return cls(((slip, 1.0),))

    def slip_to(self, bucket: int) -> float:
        """Days of slip until the fraction bucket/FRACTION_STEPS had arrived (inf: never)."""
        need = bucket / FRACTION_STEPS - 1e-9
        for slip, fraction in self.steps:
            if fraction >= need:
                return float(slip)
        return math.inf


class SlipDistribution:
    """The slip of one level (supplier and basis, say), shrunk toward its prior:
    F(s) = w F_own(s) + (1 - w) F_prior(s), w = n / (n + k)."""

    __slots__ = ("_sorted", "curves", "k", "n", "prior")

    def __init__(
        self,
        curves: Sequence[FillCurve],
        prior: SlipDistribution | None = None,
        k: float = PRIOR_WEIGHT,
    ) -> None:
        self.curves = tuple(curves)
        self.n = len(self.curves)
        self.prior = prior
        self.k = k
        self._sorted: dict[int, list[float]] = {}

    @property
    def weight(self) -> float:
        """The share the level's own curves carry."""
        if self.prior is None:
            return 1.0 if self.n else 0.0
        return self.n / (self.n + self.k)

    def _slips(self, bucket: int) -> list[float]:
        found = self._sorted.get(bucket)
        if found is None:
            found = sorted(c.slip_to(bucket) for c in self.curves)
            self._sorted[bucket] = found
        return found

    def cdf(self, slip: float, fraction: float = 1.0) -> float:
        """P(the first `fraction` of a receipt has arrived within `slip` days of its date)."""
        return self._cdf(slip, fraction_bucket(fraction))

    def _cdf(self, slip: float, bucket: int) -> float:
        w = self.weight
        own = 0.0
        if self.n:
            own = bisect_right(self._slips(bucket), slip) / self.n
        if self.prior is None or w >= 1.0:
            return own
        return w * own + (1 - w) * self.prior._cdf(slip, bucket)

    def tail_is_known(self, at_least: float, bucket: int) -> bool:
        return self._cdf(at_least - 1, bucket) < 1 - 1e-12

    def own_tail_is_known(self, at_least: float, bucket: int) -> bool:
        """Some curve of this level itself (not its prior) is at least that late."""
        return bool(self.n) and bisect_right(self._slips(bucket), at_least - 1) < self.n


def _no_history() -> SlipDistribution:
    return SlipDistribution((FillCurve.whole(0),))


@dataclass(frozen=True, slots=True)
class SlipSample:
    """One receipt's fill curve and whose it was."""

    supplier: str | None
    item: str | None
    basis: SlipBasis
    curve: FillCurve


class SlipBook:
    """Every level's slip distribution, built once from the receipts' history."""

    def __init__(self, samples: Iterable[SlipSample], k: float = PRIOR_WEIGHT) -> None:
        by_key: dict[tuple[str | None, str | None, SlipBasis], list[FillCurve]] = {}
        everything: list[FillCurve] = []
        for sample in samples:
            basis = SlipBasis(sample.basis)
            everything.append(sample.curve)
            by_key.setdefault((None, None, basis), []).append(sample.curve)
            if sample.supplier is not None:
                by_key.setdefault((sample.supplier, None, basis), []).append(sample.curve)
                if sample.item is not None:
                    by_key.setdefault((sample.supplier, sample.item, basis), []).append(
                        sample.curve
                    )
        self.k = k
        self.samples = len(everything)
        # The root is shrunk toward the receipts' own word (slip 0): with no history at all they
        # are taken at it, and one early receipt does not make every supplier early.
        self._root = SlipDistribution(everything, _no_history(), k) if everything else _no_history()
        self._curves = by_key
        self._cache: dict[tuple[str | None, str | None, SlipBasis], SlipDistribution] = {}

    def distribution(
        self, supplier: str | None, item: str | None, basis: SlipBasis
    ) -> SlipDistribution:
        key = (supplier, item if supplier is not None else None, SlipBasis(basis))
        found = self._cache.get(key)
        if found is not None:
            return found
        if key[0] is None:  # the pool of one basis, shrunk toward all receipts
            made = SlipDistribution(self._curves.get(key, ()), self._root, self.k)
        elif key[1] is None:
            made = SlipDistribution(
                self._curves.get(key, ()), self.distribution(None, None, key[2]), self.k
            )
        else:
            made = SlipDistribution(
                self._curves.get(key, ()), self.distribution(key[0], None, key[2]), self.k
            )
        self._cache[key] = made
        return made


@dataclass(frozen=True, slots=True)
class Need:
    """A receipt a line depends on: when it is expected, whose it is, and the fraction of it
    (counted from the start of its current promise) that must have arrived."""

    distribution: SlipDistribution
    expected: date
    fraction: float


@dataclass(frozen=True, slots=True)
class Promise:
    """The day by which the needed supply is there at the asked confidence (None: not within
    the horizon), and whether a receipt's lateness is beyond all history (`assumed`)."""

    day: date | None
    assumed: bool = False
    pooled: bool = False  # a late receipt's tail came from other suppliers' history


@dataclass(slots=True)
class _Term:
    dist: SlipDistribution
    expected: int  # ordinal
    bucket: int
    floor: float  # slip already known: it has not arrived before today
    below: float = 0.0  # F(floor - 1)
    assumed: bool = False
    pooled: bool = False

    def probability(self, day: int) -> float:
        slip = day - self.expected
        if slip < self.floor:
            return 0.0
        if self.assumed:  # uniform over [floor, floor + span]
            span = max(self.floor, UNKNOWN_TAIL_MIN_DAYS)
            return min(1.0, (slip - self.floor + 1) / (span + 1))
        tail = 1.0 - self.below
        return (self.dist._cdf(slip, self.bucket) - self.below) / tail


def _term(need: Need, today: date) -> _Term:
    bucket = fraction_bucket(need.fraction)
    expected = need.expected.toordinal()
    late = today.toordinal() - expected
    # Not here by today: it comes today at the earliest; past its date, tomorrow at the
    # earliest (P(slip <= s | slip > days late)): an overdue receipt is never "today".
    floor = float(late + 1 if late > 0 else late)
    term = _Term(need.distribution, expected, bucket, floor)
    term.below = need.distribution._cdf(floor - 1, bucket)
    if term.below >= 1 - 1e-12:
        term.assumed = True
    elif floor > 0 and not need.distribution.own_tail_is_known(floor, bucket):
        term.pooled = True
    return term


def promise_day(needs: Sequence[Need], *, today: date, confidence: float) -> Promise:
    """The first day t >= today, and not before any need's own date (a supplier that came early
    before is not promised early), with P(every need has arrived by t) >= confidence."""
    level = require_confidence(confidence)
    terms = [_term(n, today) for n in needs]
    assumed = any(t.assumed for t in terms)
    pooled = any(t.pooled for t in terms)

    def ok(day: int) -> bool:
        product = 1.0
        for term in terms:
            product *= term.probability(day)
            if product < level - 1e-12:
                return False
        return True

    low = max([today.toordinal(), *(t.expected for t in terms)])
    high = today.toordinal() + HORIZON_DAYS
    if not ok(high):
        return Promise(None, assumed, pooled)
    while low < high:  # the probability only grows with the day: bisect
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid + 1
    return Promise(date.fromordinal(low), assumed, pooled)


@dataclass(frozen=True, slots=True)
class Confidence:
    """What dates are promised at: the slip history and the business's chosen confidence."""

    book: SlipBook
    level: float = 0.95
    likely_level: float = 0.5
    _cache: dict[object, Promise] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        require_confidence(self.level, "the promise confidence")
        require_confidence(self.likely_level, "the likely-date confidence")


__all__ = [
    "Confidence",
    "FillCurve",
    "Need",
    "Promise",
    "SlipBasis",
    "SlipBook",
    "SlipDistribution",
    "SlipSample",
    "fraction_bucket",
    "promise_day",
    "require_confidence",
]
