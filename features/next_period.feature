Feature: The next period starts from what was accepted
  A provider answers the same self-assessment every period. When their next assessment of it opens, it starts
  from their last accepted one: each answer is carried forward, marked as last period's, for them to confirm
  unchanged or change, and the evidence behind it comes too, without uploading it again. A question that was
  changed in the new version of the questionnaire starts blank, and a document past its expiry date no longer
  counts. The privacy lead cannot submit while anything carried is still unconfirmed.

  Background:
    Given the agency and two providers, A and B, with their people
    And provider A's self-assessment for 2025-Q3 was accepted, with their privacy policy good until a set date
    And the privacy policy's date has since passed
    And a new version of the mini privacy check asks "device-count" differently

  Scenario: The 2026 assessment opens with last year's answers to confirm one by one
    When the partnerships officer launches the new version to provider A for 2026-Q3
    Then the staff member at provider A sees "has-lead", "lead-name" and "lead-maturity" carried from 2025-Q3, not yet confirmed
    And "device-count" is blank
    And the privacy policy is there, marked expired, and the training record is there, still current
    When the privacy lead at provider A submits the assessment
    Then the submission is refused, naming "has-lead", "lead-name", "lead-maturity" and "device-count"
    When the staff member at provider A confirms "has-lead" and "lead-name" unchanged
    And the staff member at provider A changes "lead-maturity" to "4"
    And the staff member at provider A answers "device-count" with "6"
    And the privacy lead at provider A submits the assessment
    Then the submission is refused because the evidence for "has-lead" has expired
    When the staff member at provider A attaches this year's privacy policy to "has-lead"
    And the privacy lead at provider A submits the assessment
    Then the assessment is "submitted"
    And last period's assessment still has its own answers and files

  Scenario: Launching again carries nothing twice, and another provider cannot confirm
    When the partnerships officer launches the new version to provider A for 2026-Q3
    And the partnerships officer launches it again
    Then provider A's 2026-Q3 assessment has each carried answer and file once
    When the privacy lead at provider B confirms "lead-name" on provider A's assessment
    Then they are told it is not found
    When the auditor confirms "lead-name" on provider A's assessment
    Then they are told they are not allowed
