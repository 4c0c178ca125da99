Feature: Audit findings and corrective actions
  An auditor visits a provider, records what they found against the controls of the plan, and asks the provider
  for fixes. The provider's privacy lead answers for the fixes of their own organisation; the auditor checks each
  answer and verifies it or sends it back with a reason. An audit closes only when every finding is rated and every
  high or critical finding's fixes are verified, or explicitly carried forward. A critical finding brings the
  auditor back: a follow-up visit is proposed, once. Nobody at another provider learns any of it.

  Background:
    Given the agency and two providers, A and B, with their people
    And the auditor has scheduled a site visit to provider A of the mini privacy check, two working days long

  Scenario: Record a site visit with findings and corrective actions
    When the auditor starts the site visit
    And the auditor records the finding on "privacy-lead": ineffective, severity critical, "No privacy lead has been named since March"
    And the auditor records the finding on "device-register": partly effective, severity medium, "Two laptops missing from the register"
    And the auditor attaches a photo of the device cupboard to the finding on "device-register"
    And the auditor asks provider A to "Appoint a privacy lead and tell staff who it is" for "privacy-lead", owned by "Hine Walker", due in 30 days
    Then the site visit shows 2 findings and 1 open corrective action
    And a follow-up visit to provider A is proposed 20 working days from today, saying it follows the critical finding on "privacy-lead"
    And saving the critical finding again proposes no second follow-up visit
    And the auditor cannot record a second finding on "privacy-lead"
    And the staff member at provider A sees the findings of the site visit
    And the privacy lead at provider B cannot see the site visit, its findings or its corrective action

  Scenario: A provider answers, the auditor verifies, the audit closes
    Given the auditor has recorded a high finding on "privacy-lead" with a corrective action for provider A
    When the staff member at provider A tries to answer the corrective action
    Then they are told they are not allowed
    When the privacy lead at provider B tries to answer the corrective action
    Then they are told it is not found
    When the privacy lead at provider A answers "Hine Walker appointed on 1 May" with the appointment letter
    And the auditor sends the answer back because "Staff have not been told who the lead is"
    Then the corrective action is open again, with the auditor's reason
    When the auditor reports the site visit
    And the auditor tries to close the site visit
    Then the auditor is told the corrective action on "privacy-lead" is open, not verified or carried forward
    When the privacy lead at provider A answers "Announced at the staff hui on 12 May" with the minutes of the hui
    And the auditor verifies the corrective action
    And the auditor closes the site visit
    Then the site visit is closed
    And its findings can no longer change
