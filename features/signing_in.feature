Feature: Signing in
  Agency staff and the people at contracted providers sign in with their email address and password.
  A refused sign-in never says whether it was the email or the password that was wrong, so nobody can
  use the sign-in page to find out who has an account. Signing out ends the session for good.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario: The right password gets a partnerships officer in
    When the partnerships officer signs in with their password
    Then they are signed in as "Partnerships" with the role "partnerships"
    And they can see the list of providers

  Scenario: A wrong password is refused without saying which part was wrong
    When the partnerships officer signs in with the password "not my password at all"
    Then the sign-in is refused with "That email and password do not match an active account."
    And they cannot see the list of providers
    And the system owner finds the refused sign-in for "partnerships@example.org" in the access log
    When someone signs in as "nobody@example.org" with the password "not my password at all"
    Then the sign-in is refused with "That email and password do not match an active account."

  Scenario: Signing out ends the session
    Given the privacy lead at provider A has signed in
    When they sign out
    Then their old session no longer gets them in
    And signing in again with their password works
