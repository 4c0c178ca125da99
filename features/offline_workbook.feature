Feature: Completing an assessment offline in a workbook
  Some providers gather their answers away from the web page: from colleagues by email, in a meeting, or on a
  laptop with no connection. They download their assessment as an .xlsx workbook, fill it in Excel or
  LibreOffice, and upload it again. Every row is checked before anything is saved and each mistake is named by
  its cell; a blank cell never wipes out an answer already given; and an answer a colleague changed on the web
  in the meantime is reported, not silently overwritten.

  Background:
    Given the agency and two providers, A and B, with their people
    And the mini privacy check has gone out to providers A and B

  Scenario: A provider completes it offline in a workbook
    Given the staff member at provider A has answered "has-lead" with "no" on the web
    When the privacy lead at provider A downloads their assessment as a workbook
    Then the workbook has a row for each of its 5 questions, with "No" as the answer to "has-lead"
    And only the answer and comment cells can be changed
    When they fill in the workbook:
      | question      | answer              |
      | has-lead      |                     |
      | lead-maturity | 4 - Mostly in place |
      | device-count  | 12                  |
    And they save the workbook in LibreOffice
    And they upload the workbook
    Then the upload saves the answers to "lead-maturity, device-count"
    And provider A's answers are now, as stored:
      | question      | value |
      | has-lead      | "no"  |
      | lead-maturity | "4"   |
      | device-count  | 12    |
    And provider A's assessment is in progress

  Scenario: A workbook with mistakes is refused cell by cell and nothing is saved
    When the privacy lead at provider A downloads their assessment as a workbook
    And they fill in the workbook:
      | question      | answer              |
      | has-lead      | Sometimes           |
      | lead-maturity | 3 - Partly in place |
      | device-count  | 900                 |
    And they upload the workbook
    Then they are told to fix these cells:
      | cell         | problem                           |
      | Questions!D2 | "Sometimes" is not one of Yes, No |
      | Questions!D5 | must be at most 500               |
    And provider A's assessment has no answers yet

  Scenario: An answer changed on the web after the download is not overwritten
    When the privacy lead at provider A downloads their assessment as a workbook
    And the staff member at provider A then answers "has-lead" with "yes" on the web
    And they fill in the workbook:
      | question     | answer |
      | has-lead     | No     |
      | device-count | 3      |
    And they upload the workbook
    Then they are told Questions!D2 was changed on the web after the workbook was downloaded
    And provider A's answers are now, as stored:
      | question | value |
      | has-lead | "yes" |

  Scenario: Another provider cannot reach provider A's workbook
    When the privacy lead at provider B asks for provider A's assessment as a workbook
    Then they are told it is not found
    When the privacy lead at provider B uploads a workbook to provider A's assessment
    Then they are told it is not found
