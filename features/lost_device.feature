Feature: A lost phone becomes an incident and a privacy breach assessment
  When an agency device goes missing, the agency must know at once what personal information it could reach,
  weigh the Privacy Act's section 113 matters, decide whether serious harm is likely and, if it is, tell the
  Privacy Commissioner and the people affected as soon as practicable: the Commissioner expects to hear within
  72 hours of the agency knowing the breach is notifiable. The agency sets itself 48 hours to decide. When the
  provider held the information as the agency's agent, the agency is the one to notify.
  The provider's privacy lead reports the loss; the partnerships team assesses it against the clock.
  Near misses are assessed too, and counted apart in reporting.

  Background:
    Given the agency and two providers, A and B, with their people
    And the partnerships officer has checked the phone "PH-0007" out to "Tama Rangi" at provider A

  Scenario: The privacy lead reports a phone lost; the agency assesses it, notifies and closes it
    When the privacy lead at provider A reports "PH-0007" lost 20 hours ago on the bus, with client contact details on it
    Then "PH-0007" is marked "lost" and held by no one
    And the assignment of "PH-0007" to "Tama Rangi" is closed without a return date
    And a breach assessment is open, its decision due 48 hours after the report, 20 hours after the incident
    And "PH-0007" cannot be checked out
    When the partnerships officer says serious harm is likely before weighing the section 113 matters
    Then they are asked to record each of the five section 113 matters first
    When the partnerships officer records the section 113 matters:
      | matter                                 | what they found                                                     |
      | action taken to reduce the harm        | Phone locked and wiped through MDM within the hour                  |
      | how sensitive the information is       | Client names and phone numbers; case notes about family harm        |
      | the nature of the harm                 | Clients could be found or contacted by someone who means them harm  |
      | who has or may obtain the information  | Unknown: whoever found the phone on the bus                         |
      | the security protecting it             | Six-digit passcode and encrypted storage; the MDM wipe is confirmed |
    And the partnerships officer records that serious harm is likely
    Then the notification clock is running, due 72 hours after serious harm was judged likely
    And recording the decision again leaves the notification clock where it was
    And the assessment cannot close until it is recorded who notifies and when the Privacy Commissioner and the affected people were notified
    When the partnerships officer records that provider A held the information as the agency's agent
    Then the agency is the one to notify
    When the partnerships officer records that both were notified
    And the partnerships officer closes the assessment
    Then the assessment is closed
    And the incident summary counts 1 incident and 0 near misses

  Scenario: A clock that runs out shows as overdue, and governance sees the counts
    When the privacy lead at provider A reports "PH-0007" lost 20 hours ago on the bus, with client contact details on it
    And 49 hours pass with no decision on serious harm
    Then the assessment is overdue for its decision
    And the governance member sees 1 overdue assessment and 0 overdue notifications in the incident summary
    When the partnerships officer records the section 113 matters:
      | matter                                 | what they found                                  |
      | action taken to reduce the harm        | Remote wipe sent; not yet confirmed              |
      | how sensitive the information is       | Client names and phone numbers                   |
      | the nature of the harm                 | Unwanted contact with clients                    |
      | who has or may obtain the information  | Unknown                                          |
      | the security protecting it             | Four-digit passcode                              |
    And the partnerships officer records that serious harm is likely
    And 73 hours pass with neither the Privacy Commissioner nor the affected people notified
    Then the assessment is overdue for notification
    And the governance member sees 0 overdue assessments and 1 overdue notification in the incident summary
    But the governance member cannot read the breach assessment itself

  Scenario: A near miss is assessed too but counted apart
    When the staff member at provider A reports a near miss with "PH-0007": "left in a café and handed back"
    Then "PH-0007" is assigned to provider A
    And a breach assessment is open, its decision due 48 hours after the report
    And the incident summary counts 0 incidents and 1 near miss

  Scenario: Another provider cannot report on the phone
    When the privacy lead at provider B reports "PH-0007" lost
    Then they are told it is not found
    And "PH-0007" is assigned to provider A
