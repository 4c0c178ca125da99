"""Spot-check sample sizes and draws (audits.sampling): the figures the issue names, and a draw anyone can redo
from the seed and the frozen population."""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_audit.audits import sampling


@pytest.mark.parametrize(("population", "size"), [(1_000_000, 59), (100_000, 59), (100, 45), (50, 31)])
def test_95_and_5_give_the_issues_figures(population, size):
    assert sampling.sample_size(population, 0.95, 0.05) == size


def test_the_large_register_figure_is_the_binomial_one():
    assert sampling.large_population_size(0.95, 0.05) == math.ceil(math.log(0.05) / math.log(0.95)) == 59
    assert sampling.large_population_size(0.90, 0.10) == 22


def test_the_exact_figure_finds_an_exception_with_the_confidence_asked():
    """45 of 100 is the smallest sample in which 5 exceptions (5%) go unseen with probability at most 5%."""
    def unseen(n, population=100, exceptions=5):
        return math.comb(population - exceptions, n) / math.comb(population, n)

    assert unseen(45) <= 0.05 < unseen(44)


def test_a_small_register_is_sampled_whole_and_an_empty_one_not_at_all():
    assert sampling.sample_size(10, 0.95, 0.05) == 10
    assert sampling.sample_size(1, 0.95, 0.05) == 1
    assert sampling.sample_size(0, 0.95, 0.05) == 0


@pytest.mark.parametrize(("confidence", "rate"), [(0, 0.05), (1, 0.05), (0.95, 0), (0.95, 1), (1.5, 0.05)])
def test_settings_outside_zero_to_one_are_refused(confidence, rate):
    with pytest.raises(ValueError):
        sampling.sample_size(100, confidence, rate)


IDS = [str(uuid.UUID(int=i)) for i in range(1, 201)]


def test_the_same_seed_and_population_give_the_same_draw_whatever_order_the_ids_come_in():
    first = sampling.draw(IDS, 45, "seed-one")
    assert sampling.draw(list(reversed(IDS)), 45, "seed-one") == first
    assert sampling.population_digest(reversed(IDS)) == sampling.population_digest(IDS)


def test_another_seed_gives_another_draw():
    assert sampling.draw(IDS, 45, "seed-one") != sampling.draw(IDS, 45, "seed-two")


def test_the_digest_changes_with_the_population():
    assert sampling.population_digest(IDS) != sampling.population_digest(IDS[:-1])


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.uuids(), max_size=120), n=st.integers(min_value=0, max_value=150),
       seed=st.text(min_size=1, max_size=20))
def test_a_draw_is_within_the_population_without_duplicates(ids, n, seed):
    drawn = sampling.draw(ids, n, seed)
    population = {str(i) for i in ids}
    assert set(drawn) <= population
    assert len(drawn) == len(set(drawn)) == min(n, len(population))
    # A smaller sample is the start of a larger one: the ranking, not the size, decides who is in.
    assert sampling.draw(ids, max(n - 1, 0), seed) == drawn[:max(n - 1, 0)]


@settings(max_examples=60, deadline=None)
@given(population=st.integers(min_value=0, max_value=5000),
       confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]), rate=st.sampled_from([0.01, 0.02, 0.05, 0.1]))
def test_a_sample_is_never_larger_than_the_register_or_the_large_register_figure(population, confidence, rate):
    size = sampling.sample_size(population, confidence, rate)
    assert 0 <= size <= min(population, sampling.large_population_size(confidence, rate))
    assert (size == 0) == (population == 0)
