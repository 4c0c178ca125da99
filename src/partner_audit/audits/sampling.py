"""How many devices a spot-check samples, and which: pure, no database.

**Size.** Attribute sampling with zero expected exceptions: the smallest sample in which, if the register held
exceptions at the tolerable rate, finding none would happen with probability at most ``1 - confidence``. For a
large register that is the binomial (discovery) figure

    n0 = ceil(ln(1 - confidence) / ln(1 - tolerable_rate))          95% and 5%: 59

For a register of N assignments it is the exact hypergeometric one: with D = ceil(tolerable_rate * N) exceptions in
the register, the smallest n with

    P(no exception in n) = C(N - D, n) / C(N, n) = prod_{i<n} (N - D - i) / (N - i)  <=  1 - confidence

which gives 45 of 100 (D = 5) and 31 of 50 (D = 3) at 95% and 5%, and tends to n0 as N grows (it is never more:
each factor is at most 1 - tolerable_rate). The usual shortcut ``n0 / (1 + (n0 - 1) / N)`` gives 38 of 100 and 27
of 50: it corrects a sample size for estimating a proportion, not for finding an exception, and under-samples
small registers; the exact figure is used instead.

**Draw.** Reproducible from the seed and the frozen population alone: each assignment id is ranked by
sha256(seed ":" id) and the first n taken, so the order the ids arrive in does not matter, and anyone holding the
recorded seed and population (``population_digest`` proves it is the same) can redo the draw.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from fractions import Fraction


def _fraction(value: float, name: str) -> Fraction:
    # Decimal arithmetic on the settings as written (0.05 * 100 is 5, not 5.000000000000001).
    exact = Fraction(str(value))
    if not 0 < exact < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), not {value}")
    return exact


def large_population_size(confidence: float, tolerable_rate: float) -> int:
    """n0: the sample size for a register too large for its size to matter."""
    _fraction(confidence, "confidence"), _fraction(tolerable_rate, "tolerable_rate")
    # Rounded before ceil so a float just above a whole number (58.0000000001) does not add a device.
    return math.ceil(round(math.log(1 - confidence) / math.log(1 - tolerable_rate), 9))


def sample_size(population: int, confidence: float, tolerable_rate: float) -> int:
    """The sample size for a register of ``population`` assignments (see the module's notes), at most all of it."""
    if population < 0:
        raise ValueError(f"population must not be negative, not {population}")
    confidence_f, rate_f = _fraction(confidence, "confidence"), _fraction(tolerable_rate, "tolerable_rate")
    n0 = large_population_size(confidence, tolerable_rate)
    if population == 0:
        return 0
    exceptions = math.ceil(rate_f * population)  # D: at least one, as the rate is above zero
    risk = 1 - confidence_f
    chance = Fraction(1)  # of finding no exception in the first n
    for n in range(1, min(n0, population) + 1):
        chance *= Fraction(max(population - exceptions - (n - 1), 0), population - (n - 1))
        if chance <= risk:
            return n
    return min(n0, population)


def _rank(seed: str, ident: str) -> str:
    return hashlib.sha256(f"{seed}:{ident}".encode()).hexdigest()


def frozen(population_ids: Iterable[object]) -> list[str]:
    """The population as it is recorded: distinct ids as text, sorted."""
    return sorted({str(i) for i in population_ids})


def population_digest(population_ids: Iterable[object]) -> str:
    """sha256 of the frozen population (sorted ids, one a line): the same register gives the same digest."""
    return hashlib.sha256("\n".join(frozen(population_ids)).encode()).hexdigest()


def draw(population_ids: Iterable[object], n: int, seed: str) -> list[str]:
    """``n`` ids of the population in the order drawn, reproducible from ``seed`` and the population alone."""
    if n < 0:
        raise ValueError(f"n must not be negative, not {n}")
    ids = frozen(population_ids)
    return sorted(ids, key=lambda ident: (_rank(seed, ident), ident))[:n]
