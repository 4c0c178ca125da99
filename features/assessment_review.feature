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

  Scenario: A provider answers the auditor's question in its thread, and the auditor sees it answered
    Given the partnerships officer has launched a rollout of the mini privacy check to provider A
    And provider A has answered every question, attached its evidence and submitted
    When the auditor returns it with the comment "Count the phones as well as the laptops." on "device-count"
    Then the staff member at provider A sees that the auditor raised "device-count" and it awaits their answer
    And 1 raised question awaits the provider's answer
    When the staff member at provider A replies "We hold 3 phones too: the count is now 5." to the auditor on "device-count"
    And the staff member at provider A answers "device-count" with "5"
    And the privacy lead at provider A submits the assessment
    Then the assessment is "submitted"
    And the auditor sees "device-count" answered since they raised it, with the reply from the staff member at provider A
    And no raised question awaits the provider's answer

  Scenario: The questionnaire shows what is shown, required, answered and still missing
    Given the partnerships officer has launched a rollout of the mini privacy check to provider A
    When the staff member at provider A opens the assessment
    Then they see the focus areas "leadership, devices" with their questions in order
    And "lead-name" is hidden until "has-lead" is answered "Yes"
    When the staff member at provider A answers "has-lead" with "Yes"
    Then "lead-name" is shown and required, and "has-lead" needs evidence it does not have
    And the leadership area has 2 of 3 shown questions left to answer and 1 missing piece of evidence
