Feature: Trusting the access log
  The agency must be able to show who looked at or changed a provider's records, and that nobody has quietly
  removed or rewritten that record since, not even someone who can change the database directly. The service
  seals what is logged every few seconds and keeps a signed checkpoint outside the database; the system owner
  checks the whole log whenever they need to.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario: A day's work checks out, with the newest entries waiting for their seal
    Given the staff member at provider A and the auditor have read provider A's record
    And the service has sealed the access log
    When the system owner checks the access log
    Then it is intact, every entry before the check sealed
    When the auditor reads provider A's record again
    And the system owner checks the access log
    Then it is intact, with 2 entries not yet sealed

  Scenario: Entries removed at the end are found
    Given the staff member at provider A and the auditor have read provider A's record
    And the service has sealed the access log
    When someone with control of the database deletes the last 3 entries and their seals
    And the system owner checks the access log
    Then the check fails saying "the last 3 were removed"

  Scenario: A rewritten entry is found even when its checksum is recomputed
    Given the staff member at provider A and the auditor have read provider A's record
    And the service has sealed the access log
    When someone with control of the database changes who read provider A's record, recomputing its checksum
    And the system owner checks the access log
    Then the check fails saying "was changed after it was written"
