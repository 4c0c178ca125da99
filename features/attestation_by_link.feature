Feature: A device holder confirms by email that they still hold an agency laptop
  Every assignment owes an attestation every 90 days: the holder confirms they still have the device and use it
  only for authorised work. Holders have no account: the service emails them a link that works once and expires
  after 7 days, and the page behind it needs nothing else. A used or expired link gets a plain page saying so.

  Background:
    Given the agency and two providers, A and B, with their people
    And the laptop "LT-0042" has been with "Mere Tawhiri" at provider A for 95 days

  Scenario: The holder attests by the emailed link
    Then "LT-0042" is listed as owing an attestation
    When the partnerships officer asks "Mere Tawhiri" to attest for "LT-0042"
    And the outbox is delivered
    Then "Mere Tawhiri" has an email asking her to confirm she holds "LT-0042"
    When "Mere Tawhiri" opens the link in the email
    Then she sees "LT-0042" and is asked to confirm she holds it and uses it only for authorised work
    When she confirms both
    Then she is thanked
    And "LT-0042" no longer owes an attestation
    And the system owner finds the attestation by link in the access log
    When "Mere Tawhiri" opens the link in the email
    Then she is told the link has already been used

  Scenario: An expired link gets a clear page, not an error
    When the partnerships officer asks "Mere Tawhiri" to attest for "LT-0042"
    And the outbox is delivered
    And 8 days pass
    And "Mere Tawhiri" opens the link in the email
    Then she is told the link has expired and to ask for a new one
    And "LT-0042" is listed as owing an attestation
