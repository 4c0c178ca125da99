Feature: A lost phone becomes an incident and a privacy breach assessment
  When an agency device goes missing, the agency must know at once what personal information it could reach,
  decide whether serious harm is likely and, if it is, tell the Privacy Commissioner and the people affected.
  The provider's privacy lead reports the loss; the partnerships team assesses it against the clock.
  Near misses are assessed too, and counted apart in reporting.

  Background:
    Given the agency and two providers, A and B, with their people
    And the partnerships officer has checked the phone "PH-0007" out to "Tama Rangi" at provider A

  Scenario: The privacy lead reports a phone lost; the agency assesses it, notifies and closes it
    When the privacy lead at provider A reports "PH-0007" lost 20 hours ago on the bus, with client contact details on it
    Then "PH-0007" is marked "lost" and held by no one
    And the assignment of "PH-0007" to "Tama Rangi" is closed without a return date
    And a breach assessment is open, due 30 days after the report, 20 hours after the incident
    And "PH-0007" cannot be checked out
    When the partnerships officer records that serious harm is likely
    Then the assessment cannot close until the Privacy Commissioner and the affected people are notified
    When the partnerships officer records that both were notified
    And the partnerships officer closes the assessment
    Then the assessment is closed
    And the incident summary counts 1 incident and 0 near misses

  Scenario: A near miss is assessed too but counted apart
    When the staff member at provider A reports a near miss with "PH-0007": "left in a café and handed back"
    Then "PH-0007" is assigned to provider A
    And a breach assessment is open, due 30 days after the report
    And the incident summary counts 0 incidents and 1 near miss

  Scenario: Another provider cannot report on the phone
    When the privacy lead at provider B reports "PH-0007" lost
    Then they are told it is not found
    And "PH-0007" is assigned to provider A
