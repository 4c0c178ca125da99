Feature: Registering a provider
  The partnerships team keeps the register of contracted providers. Each provider is registered with its
  New Zealand Business Number (NZBN), whose last digit is a check digit, so a mistyped number is caught at
  once. A new provider starts as onboarding. Suspending a provider locks its people out straight away.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario: A partnerships officer registers a provider with a valid NZBN
    When the partnerships officer registers "Kāpiti Whānau Services", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "9429041234563"
    Then the provider is registered with NZBN "9429041234563" and status "onboarding"
    And "Kāpiti Whānau Services" is in the provider list as "onboarding"

  Scenario: An NZBN typed with spaces is accepted and kept as digits
    When the partnerships officer registers "Kāpiti Whānau Services", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "94290 4123 4563"
    Then the provider is registered with NZBN "9429041234563" and status "onboarding"

  Scenario Outline: A mistyped NZBN is refused and the NZBN field is named
    When the partnerships officer registers "Kāpiti Whānau Services", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "<nzbn>"
    Then the registration is refused because the "nzbn" field <problem>
    And "Kāpiti Whānau Services" is not in the provider list

    Examples:
      | nzbn          | problem                                                   |
      | 9429041234564 | has a wrong check digit (the last digit should be 3)      |
      | 942904123456  | must be 13 digits                                         |
      | 94290412345X3 | must be 13 digits                                         |

  Scenario: The same NZBN cannot be registered twice
    Given the partnerships officer has registered "Kāpiti Whānau Services", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "9429041234563"
    When the partnerships officer registers "Kapiti Whanau Services Again", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "9429041234563"
    Then the registration is refused as a conflict because the "nzbn" field is already registered

  Scenario: Only the agency registers providers
    When the privacy lead at provider A registers "Kāpiti Whānau Services", an iwi/Māori provider in Wellington at risk tier 1, with NZBN "9429041234563"
    Then they are told they are not allowed
    And "Kāpiti Whānau Services" is not in the provider list

  Scenario: Suspending a provider locks its people out
    Given the privacy lead at provider A has signed in
    When the partnerships officer suspends provider A because "contract under review"
    Then provider A is listed as "suspended"
    And the privacy lead at provider A is turned away because their organisation's access is suspended
    And the staff member at provider A is turned away because their organisation's access is suspended
    And the privacy lead at provider A cannot sign in again: "Your organisation's access is suspended."
    But the staff member at provider B still gets in
