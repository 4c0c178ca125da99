Feature: A provider's people see only their own organisation
  Providers are separate organisations. Their people must never see another provider's records, nor learn
  that a record exists: a link to another provider's record answers exactly as a link to nothing at all.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario Outline: A direct link to another provider's record says it is not found
    When the <person> opens the link to provider <other>'s record
    Then they are told it is not found
    And the answer does not mention provider <other>'s name
    And it reads the same as a link to a provider that does not exist
    And the system owner finds the refused look at provider <other>'s record in the access log

    Examples:
      | person                         | other |
      | staff member at provider A     | B     |
      | privacy lead at provider A     | B     |
      | privacy lead at provider B     | A     |

  Scenario Outline: Their provider list shows only their own
    When the <person> lists the providers
    Then they see only "<own>"
    When the <person> searches the providers for "<other>"
    Then they see no providers

    Examples:
      | person                         | own              | other            |
      | staff member at provider A     | Provider A Trust | Provider B Trust |
      | privacy lead at provider B     | Provider B Trust | Provider A Trust |

  Scenario: The agency sees every provider
    When the partnerships officer lists the providers
    Then they see "Provider A Trust" and "Provider B Trust"
