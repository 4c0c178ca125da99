"""The score engine: pure functions over pandas frames, no database and no HTTP (docs/scoring.md has the rules and
a worked example).

A question's score is its template's answer score, 0 to 100 (``controls.answers.score_of``). It counts only when
the question is shown (its ``show_if`` holds on the shown answers) and scored (has option scores). Control,
focus-area, overall and recommendation scores are weighted means (question weights) of the scored questions
beneath; N/A and unanswered questions are left out of the mean and counted, so a completeness figure sits beside
every score. The verified score replaces, for each control an audit rated, every shown scored question's score by
the rating's score (``RATING_SCORES`` unless the template sets ``rating_scores``; ``not_tested`` changes nothing).
The overall figure is the one ``audits.services.scores.overall`` gives for the same answers and ratings.

Its parts:

templates   what the templates say, as frames (``Library``, ``library()``), compiled once to arrays for the engine
engine      ``score()``: each question's state, the weighted sums, the self-assessed and verified scores (``Scores``)
banding     ``bands()`` and ``band_words()``: red, amber or green, and the words shown beside each colour
"""

from partner_audit.reports.scoring.banding import band_words, bands
from partner_audit.reports.scoring.engine import Scores, score
from partner_audit.reports.scoring.templates import RATING_SCORES, Library, library

__all__ = ["RATING_SCORES", "Library", "Scores", "band_words", "bands", "library", "score"]
