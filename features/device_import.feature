Feature: Importing the device register from a spreadsheet
  The partnerships team keeps its first register, or an export from its asset system, in a spreadsheet. It
  uploads the file: a preview shows what would change, row by row, and names every mistake by its row and
  column; nothing changes until the whole file is right; then every row lands at once. Columns the register does
  not use are listed and left alone.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario: An import with mistakes is previewed, fixed and applied
    Given the partnerships officer has an asset-register export:
      | Asset Tag | Category      | Manufacturer | Checked Out To | Email          | Provider         | Purpose     | Expected Checkin | Purchase Cost |
      | LT-101    | Laptops       | Dell         |                |                |                  |             |                  | 1999          |
      | PH-102    | Mobile Phones | Samsung      | Mere Tawhiri   | mere@a.example | Provider A Trust | Home visits | 31/02/2099       | 650           |
      | PH-103    | Mobile Phones | Samsung      | Hemi Walker    | hemi@a.example | Acme Widgets Ltd | Home visits |                  | 650           |
      | LT-101    | Laptops       | Lenovo       |                |                |                  |             |                  | 1500          |
    When they preview the import
    Then the preview lists these problems:
      | where                              | problem                                                    |
      | row 3, column "Expected Checkin"   | "31/02/2099" is not a date                                 |
      | row 4, column "Provider"           | no provider is named "Acme Widgets Ltd" or has that NZBN  |
      | row 5, column "Asset Tag"          | "LT-101" is also on row 2: list each device once           |
    And the preview says the column "Purchase Cost" is not used
    When they import the file anyway
    Then the import is refused naming the same 3 problems
    And the register has no devices
    When they fix the file:
      | row | column           | value             |
      | 3   | Expected Checkin | 28/02/2099        |
      | 4   | Provider         | Provider A Trust  |
      | 5   | Asset Tag        | LT-104            |
    And they preview the import
    Then the preview shows, row by row:
      | row | asset tag | device | assignment |
      | 2   | LT-101    | create | none       |
      | 3   | PH-102    | create | check_out  |
      | 4   | PH-103    | create | check_out  |
      | 5   | LT-104    | create | none       |
    When they import the file
    Then the register has 4 devices
    And "PH-102" is held by "mere@a.example" at provider A until 2099-02-28
    And the staff member at provider A sees "PH-102" and "PH-103" but no holder's email

  Scenario: A provider's people cannot import
    Given the partnerships officer has an asset-register export:
      | Asset Tag | Category |
      | LT-201    | Laptops  |
    When the privacy lead at provider A imports the file
    Then they are told they are not allowed
    And the register has no devices

  Scenario: A Snipe-IT export checks each device out to the person it names
    Snipe-IT names the holder in four columns and their organisation as the Company, and has no purpose column:
    the partnerships officer gives the purpose once for the whole file. A row that names someone the device
    cannot be checked out to is named as a problem; a device checked out to a place is named as a warning.

    Given the partnerships officer has a Snipe-IT asset export:
      | Company          | Asset Tag | Category      | Status   | Checkout Type | Checked Out To: Username | Checked Out To: First Name | Checked Out To: Last Name | Checked Out To: Email | Checked Out To: Location | Asset Notes      |
      | Provider A Trust | SN-301    | Laptops       | Deployed | User          | mere.tawhiri             | Mere                       | Tawhiri                   | Mere@A.example        |                          | Charger replaced |
      | Provider B Trust | SN-302    | Mobile Phones | Deployed | User          | pita@b.example           | Pita                       | Roa                       |                       |                          |                  |
      | Te Tari Agency   | SN-303    | Laptops       | Deployed | Location      |                          |                            |                           |                       | Wellington Office        |                  |
      | Provider A Trust | SN-304    | Tablets       | Deployed | User          | jbloggs                  | Joe                        | Bloggs                    |                       |                          |                  |
    When they preview the import with the default purpose "Home visits to the provider's clients"
    Then the preview lists these problems:
      | where                                 | problem                                                                                                |
      | row 5, column "Checked Out To: Email" | the holder's email is needed to check the device out (the username "jbloggs" is not an email address) |
    And the preview warns:
      | where                                    | warning                                                                                                                          |
      | row 4, column "Checked Out To: Location" | is checked out to a location ("Wellington Office"), not to a person: the register keeps the devices people hold, so this row checks nothing out |
    When they fix the file:
      | row | column                | value           |
      | 5   | Checked Out To: Email | joe@a.example   |
    And they import the file with the default purpose "Home visits to the provider's clients"
    Then the import lists what it changed, row by row:
      | row | asset tag | device | assignment | default purpose |
      | 2   | SN-301    | create | check_out  | yes             |
      | 3   | SN-302    | create | check_out  | yes             |
      | 4   | SN-303    | create | none       | no              |
      | 5   | SN-304    | create | check_out  | yes             |
    And the import says 3 check-outs took the default purpose
    And "SN-301" is held by "Mere Tawhiri" (mere@a.example) at provider A for "Home visits to the provider's clients"
    And "SN-302" is held by "Pita Roa" (pita@b.example) at provider B for "Home visits to the provider's clients"
    And "SN-304" is held by "Joe Bloggs" (joe@a.example) at provider A for "Home visits to the provider's clients"
    And "SN-303" is in stock with no holder
