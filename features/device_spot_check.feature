Feature: A device spot-check finds a discrepancy and a missing laptop
  Recommendation 22 asks for greater oversight of agency devices held by people outside the agency. An auditor
  checks a random sample of the devices a provider holds: big enough that, had 5% of the register been wrong,
  they would have found at least one with 95% confidence. The sample is drawn once, from a seed the access log
  keeps with the list of what could have been drawn, so anyone can draw it again and get the same devices.
  While the spot-check is under way, and only for the devices in its sample, the auditors see who holds each one,
  so they can go and find it. A device not seen is reported lost.

  Background:
    Given the agency and two providers, A and B, with their people
    And provider A holds 6 laptops and provider B holds 2
    And the auditor leads a device spot-check of provider A

  Scenario: The auditor samples the register, finds a discrepancy and a missing laptop
    When the auditor draws the sample with the seed "quarter-4-spot-check"
    Then all 6 of provider A's laptops are in the sample, in the order the seed gives
    And the seed and what the sample was drawn from are in the access log
    And the auditor does not see who holds the sampled laptops yet
    When the spot-check starts
    Then the auditor sees who holds each sampled laptop
    But the auditor does not see who holds provider B's laptops
    When the auditor records the first sampled laptop as seen
    And the auditor records the second sampled laptop as a discrepancy: "Serial on the case differs from the register"
    And the auditor records the third sampled laptop as not seen
    Then the third sampled laptop is reported lost, at the spot-check, by the auditor
    And recording it as not seen again reports nothing more
    When the auditor draws the sample again
    Then they are told the sample is fixed
    When the spot-check is reported
    Then the auditor no longer sees who holds the sampled laptops

  Scenario: The provider's privacy lead sees their own sample, not another provider's
    Given the auditor has drawn a sample of 3
    When the privacy lead at provider A looks at the spot-check's sample
    Then they see 3 of their laptops and who holds them
    When the privacy lead at provider B looks at the spot-check's sample
    Then they are told it is not found
