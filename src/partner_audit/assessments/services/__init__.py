"""Rollouts and assessments: the timetable goes out, providers answer and submit, auditors review.

Lifecycle: not_started → in_progress → submitted → returned → in_progress … → accepted.
Accepted locks an assessment; an auditor may reopen it with a reason.

  assessments  the assessment itself: who sees which, listing and reading it, its template
  rollouts     planning a rollout, launching it to the matching providers, its progress
  answers      saving answers (all or none, each at the version it edits), what is missing before submitting
  review       submitting, returning, accepting, reopening, and the comment threads (reviewers and providers)
  questionnaire the assessment as its provider sees it: questions in order, where each stands, threads, progress
  evidence     files attached to answers, streamed to the evidence store
  workbook     the offline workbook: downloaded to fill in, uploaded to apply
  carry        the next period: answers and evidence carried from the last accepted assessment, then confirmed
"""
