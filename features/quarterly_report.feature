Feature: The quarterly governance report
  Recommendation 18 asks for privacy reporting every quarter to the governance group and the risk and assurance
  committee: progress with the review findings, breaches and near misses, compliance, the implementation of the
  agreed controls, and trends. The partnerships team makes the quarter's report as a workbook the committee opens
  in Excel or LibreOffice, with the same figures as JSON for anyone who wants to work with them. The committee's
  own edition holds aggregates only: it names no provider and holds no personal information. A provider's people
  do not make the report.

  Background:
    Given the agency and two providers, A and B, with their people
    And the partnerships officer has checked the laptop "LT-0042" out to "Aroha Ngata" at provider A
    And the privacy lead at provider A has reported "LT-0042" stolen an hour ago

  Scenario: The partnerships team makes the quarter's report for the committee
    When the partnerships officer makes this quarter's report as a workbook
    Then the workbook is named for the quarter
    And its summary gives the headline figures under recommendation 18's headings, with last quarter's beside them
    And it counts 1 stolen device this quarter, beside a chart of incidents by kind
    And its figures are the figures of the JSON report

  Scenario: The committee's edition names no provider and no one
    When the governance member makes this quarter's report as a workbook
    Then the workbook is named for the quarter and the governance edition
    And it names neither provider A nor provider B, nor "Aroha Ngata"
    And its Providers sheet says the providers are left out of the governance edition
    And it counts 1 stolen device this quarter, beside a chart of incidents by kind
    When the governance member asks for the full edition of this quarter's report
    Then they are refused

  Scenario: A provider's people do not make the report
    When the privacy lead at provider A asks for this quarter's report
    Then they are told they are not allowed
