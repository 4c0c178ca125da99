Feature: An agency laptop goes out to a provider's staff member and comes back wiped
  Recommendation 22 asks for oversight of agency devices held by people outside the agency. The partnerships
  team checks a device out to a named person at a provider, for a stated purpose and the systems they will reach
  with it, and checks it in when it comes back: its condition, and who wiped the personal data on it.
  Who holds a device is personal information: the agency and the holder's own privacy lead see it, the
  provider's other staff see the device but not who holds it, and other providers see nothing at all.

  Background:
    Given the agency and two providers, A and B, with their people
    And the partnerships officer has registered the encrypted laptop "LT-0042"

  Scenario: A laptop is checked out to a provider's staff member and checked in with the data wiped
    When the partnerships officer checks "LT-0042" out to "Mere Tawhiri" at provider A for "home visit case notes"
    Then "LT-0042" is assigned to provider A
    And the privacy lead at provider A sees "Mere Tawhiri" holding "LT-0042"
    And the staff member at provider A sees "LT-0042" but not who holds it
    And the system owner finds each look at who holds "LT-0042" in the access log
    When the privacy lead at provider B opens "LT-0042"
    Then they are told it is not found
    When the partnerships officer checks "LT-0042" in, in "good" condition, with the personal data wiped by "IT service desk"
    Then "LT-0042" is back in stock
    And the history of "LT-0042" shows "Mere Tawhiri" returned it, the personal data wiped by "IT service desk"

  Scenario: A check-in must say who wiped the data, and nothing changes until it does
    Given "LT-0042" is checked out to "Mere Tawhiri" at provider A
    When the partnerships officer checks "LT-0042" in saying the data was wiped but not by whom
    Then the check-in is refused, naming the field "wiped_by"
    And "LT-0042" is assigned to provider A

  Scenario: A device already out cannot be checked out again
    Given "LT-0042" is checked out to "Mere Tawhiri" at provider A
    When the partnerships officer checks "LT-0042" out to "Wiremu Rangi" at provider B for "monthly reports"
    Then the check-out is refused because "LT-0042" is assigned
    And "LT-0042" is assigned to provider A
