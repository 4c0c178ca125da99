Feature: Planning audits by risk
  The assurance team reviews every provider at a frequency set by its risk tier (every 12 months for tier 1,
  24 for tier 2, 36 for tier 3, counted from its last closed audit). A plan for a date range proposes the audits
  due, overdue first, on working days (no weekend, public holiday, or the anniversary day the provider observes),
  within each auditor's capacity and leave, and never with an auditor who has declared a conflict of interest.
  Every proposal says why, and the plan can be accepted whole or in part; accepting twice changes nothing twice.

  Background:
    Given the agency and two providers, A and B, with their people
    And the auditors Aroha Ngata, Ben Wilson and Chen Li
    And a tier 1 provider "Kāpiti Whānau Services" in Wellington, last audited on 2026-01-20
    And a tier 3 provider "Hauraki Waikato Trust" in Waikato, never audited
    And a tier 2 provider "Ōtautahi Community Care" in Canterbury, last audited on 2025-09-01

  Scenario: Plan a quarter across several auditors and accept it
    Given Ben Wilson is on leave from 2027-01-04 to 2027-01-15
    And Chen Li takes 1 audit a week
    When Ben Wilson plans audits from 2027-01-01 to 2027-03-31
    Then the plan proposes Provider A Trust, Provider B Trust, Kāpiti Whānau Services and Hauraki Waikato Trust
    And Ōtautahi Community Care is not proposed, as it is not due until 2027-09-01
    And Kāpiti Whānau Services is proposed on or after 2027-01-20, when it falls due
    And no proposed audit falls on a weekend, a public holiday or the anniversary day its provider observes
    And no auditor is proposed while on leave, twice on one day, or over their audits a week
    And every proposal says why this provider, why this date and why this auditor
    When Ben Wilson accepts the whole plan
    Then every proposal in the plan is scheduled
    When Ben Wilson accepts the whole plan again
    Then nothing more is scheduled

  Scenario: Accept part of a plan and discard the rest
    When Ben Wilson plans audits from 2027-01-01 to 2027-03-31
    And Ben Wilson accepts the proposals for Provider A Trust and Kāpiti Whānau Services
    And Ben Wilson discards the rest of the plan
    Then the audits of Provider A Trust and Kāpiti Whānau Services are scheduled
    And the others are cancelled because "plan discarded", and their days are free again

  Scenario: An auditor with a conflict is never proposed
    Given Aroha Ngata has declared a conflict of interest with provider A: "her sister chairs its board"
    When Ben Wilson plans audits from 2027-01-01 to 2027-03-31
    Then Aroha Ngata leads no proposed audit of Provider A Trust
    And the proposal for Provider A Trust says "Not considered: Aroha Ngata (declared a conflict of interest)"

  Scenario: A provider every auditor has a conflict with is skipped, and the plan says why
    Given Aroha Ngata has declared a conflict of interest with provider A: "her sister chairs its board"
    And Ben Wilson has declared a conflict of interest with provider A: "he was its privacy officer"
    And Chen Li has declared a conflict of interest with provider A: "she is a trustee"
    When Ben Wilson plans audits from 2027-01-01 to 2027-03-31
    Then Provider A Trust is skipped because "No auditor may lead it"
    And nobody is proposed for Provider A Trust
