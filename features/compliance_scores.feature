Feature: Compliance scores
  A provider's privacy lead sees how their organisation scores at the end of each quarter: the score it gave itself
  in its latest accepted self-assessment, beside the score once the auditors' findings replace what it said of the
  controls they rated, and the gap between the two. Every score comes with its band in words, not colour alone.
  The partnerships team and the auditors see every provider's scores and how they spread across regions; the
  governance group sees the spread only, and a region with too few providers to hide any one of them shows its
  size and nothing else. Nobody at another provider sees any of it.

  Background:
    Given the agency and two providers, A and B, with their people
    And provider A's self-assessment of the mini privacy check was accepted in February 2025, answered "yes" and "3"
    And an audit of provider A reported in August 2025 rated its privacy lead control "partly effective"

  Scenario: A privacy lead sees their score beside what the auditors verified
    When the privacy lead at provider A looks at provider A's scores from 2024-Q4 to 2025-Q3
    Then in 2024-Q4 provider A has no score: nothing of theirs had been accepted yet
    And in 2025-Q1 provider A scores 75 self-assessed and 75 verified, both "amber", with a gap of 0
    And in 2025-Q3 provider A scores 75 self-assessed and 50 verified, both "amber", with a gap of 25
    And in 2025-Q3 the control "A named privacy lead" shows the auditors' rating "partly_effective"
    When the privacy lead at provider B looks at provider A's scores from 2024-Q4 to 2025-Q3
    Then they are told it is not found
    When the governance member looks at provider A's scores from 2024-Q4 to 2025-Q3
    Then they are told they are not allowed

  Scenario: Governance sees regions, but not a region too small to hide a provider
    Given provider B's self-assessment was accepted in March 2025, answered "yes" and "5"
    And provider C in Otago, whose self-assessment was accepted in March 2025, answered "yes" and "3"
    And provider D in Canterbury, whose self-assessment was accepted in March 2025, answered "no" and "1"
    And governance sees no group of fewer than 2 providers
    When the governance member looks at the scores by region for 2025-Q3
    Then Wellington shows 2 providers with a median verified score of 75, 1 "amber" and 1 "green"
    And Otago shows 1 provider, suppressed, with no figures
    And Canterbury shows 1 provider, suppressed, with no figures
    And no provider's name or id is in what they see
    When the partnerships officer looks at the scores by region for 2025-Q3
    Then Otago shows 1 provider with a median verified score of 75, 1 "amber" and 0 "green"
    When the privacy lead at provider A looks at the scores by region for 2025-Q3
    Then they are told they are not allowed

  Scenario: A region too small to show cannot be worked out from the others
    Given provider B's self-assessment was accepted in March 2025, answered "yes" and "5"
    And provider C in Otago, whose self-assessment was accepted in March 2025, answered "yes" and "3"
    And governance sees no group of fewer than 2 providers
    When the governance member looks at the scores by region for 2025-Q3
    Then Otago shows 1 provider, suppressed, with no figures
    And Wellington shows 2 providers, suppressed, with no figures, since all providers less Wellington would be Otago
