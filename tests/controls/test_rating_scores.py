"""A template's optional ``rating_scores``: what each audit rating scores in the verified score. Checked with a
clear message, filled in with the defaults, and left out of the content hash when unset, so the plan's template
(and every template already loaded) keeps its version."""

from __future__ import annotations

from partner_audit.audits.services import scores as audit_scores
from partner_audit.controls import service, yaml
from tests.support.paths import ROOT

PLAN = ROOT / "audit_templates" / "privacy-improvement-plan-2024-25.yaml"
# The plan template's content hash before rating_scores existed (computed on main at abecac4): pinned so that
# adding an optional field can never silently make the loaded template a new version.
PLAN_HASH = "f61dc909646964945c37a1b804061514c825ef518694dc6c60a1509c299d91f5"

MINIMAL = """\
key: t
title: T
version: "1"
{extra}
areas:
  - id: a
    title: A
    controls:
      - id: c
        title: C
        recommendations: [1]
        questions:
          - {{id: q, text: Q, type: yes_no}}
"""


def test_the_plans_template_keeps_its_content_hash():
    template = yaml.parse(PLAN.read_text(encoding="utf-8"))
    assert template.rating_scores is None
    assert "rating_scores" not in service.canonical_json(template)
    assert service.content_hash(template) == PLAN_HASH


def test_rating_scores_fill_in_the_defaults_and_change_the_hash():
    plain = yaml.parse(MINIMAL.format(extra=""))
    given = yaml.parse(MINIMAL.format(extra="rating_scores: {partly_effective: 60}"))
    assert given.rating_scores == {"effective": 100.0, "partly_effective": 60.0, "ineffective": 0.0}
    assert (given.rating_score("partly_effective"), given.rating_score("not_tested")) == (60.0, None)
    assert (plain.rating_score("partly_effective"), plain.rating_score("effective")) == (50.0, 100.0)
    assert service.content_hash(given) != service.content_hash(plain)
    # Stored and read back, the filled-in map survives.
    assert service.template_of({"content": service.canonical_json(given)}) == given


def test_bad_rating_scores_are_named():
    problems = yaml.check_text(MINIMAL.format(extra="rating_scores: {effective: 120, not_tested: 10, great: 1}"))
    assert [(p.path, p.message) for p in problems] == [
        ("rating_scores.effective", "120 must be a number from 0 to 100"),
        ("rating_scores.not_tested", "'not_tested' is not an audit rating that scores (one of effective, "
         "partly_effective, ineffective; not_tested never changes a score)"),
        ("rating_scores.great", "'great' is not an audit rating that scores (one of effective, partly_effective, "
         "ineffective; not_tested never changes a score)"),
    ]
    problems = yaml.check_text(MINIMAL.format(extra="rating_scores: [100, 50, 0]"))
    assert [p.path for p in problems] == ["rating_scores"]


def test_the_audits_overall_score_honours_rating_scores():
    template = yaml.parse(MINIMAL.format(extra="rating_scores: {partly_effective: 60}"))
    assert audit_scores.overall(template, {"q": "no"}) == 0.0
    assert audit_scores.overall(template, {"q": "no"}, {"c": "partly_effective"}) == 60.0
    assert audit_scores.overall(template, {"q": "no"}, {"c": "not_tested"}) == 0.0
