Feature: A self-assessment goes out, comes back and is reviewed
  The partnerships team sends the plan's controls to providers on a timetable. A provider's staff answer the
  questions and attach evidence; their privacy lead submits. An auditor reads it, sends it back with a comment
  when something is missing, and accepts it once it is right. Accepted assessments are locked.

  Background:
    Given the agency and two providers, A and B, with their people
    And the mini privacy check template is loaded

  Scenario: A partnerships officer launches a rollout
    When the partnerships officer launches a rollout of the mini privacy check to risk tier 2 for 2025-Q3
    Then provider A and provider B each have one assessment, not started
    And launching the rollout again adds no assessments

  Scenario: A provider answers, attaches evidence, is sent back, fixes it and is accepted
    Given the partnerships officer has launched a rollout of the mini privacy check to provider A
    When the staff member at provider A answers "has-lead" with "Yes" and "lead-name" with "Hine Walker"
    And the staff member at provider A answers "lead-maturity" with "3" and "device-count" with "2"
    And the privacy lead at provider A submits the assessment
    Then the submission is refused because "has-lead" needs evidence
    When the staff member at provider A attaches "privacy-lead-appointment.pdf" to "has-lead"
    And the privacy lead at provider A submits the assessment
    Then the assessment is "submitted"
    When the auditor returns it with the comment "Count the phones as well as the laptops." on "device-count"
    Then the staff member at provider A sees the comment "Count the phones as well as the laptops."
    And the assessment is "returned"
    When the staff member at provider A answers "device-count" with "5"
    And the privacy lead at provider A submits the assessment
    And the auditor accepts it
    Then the assessment is "accepted"
    And the staff member at provider A can no longer change "device-count"

  Scenario: A staff member cannot submit, and another provider cannot see the assessment
    Given the partnerships officer has launched a rollout of the mini privacy check to provider A
    When the staff member at provider A submits the assessment
    Then they are told they are not allowed
    When the privacy lead at provider B opens provider A's assessment
    Then they are told it is not found
