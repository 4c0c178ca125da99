Feature: The control library
  The agency's Privacy Improvement Plan goes out to providers as a questionnaire template: focus areas,
  controls traced to the plan's recommendations, and questions in plain words. A partnerships officer checks
  a template file before loading it, and is told every problem at once with its place in the file. Loading is
  safe to repeat: content already loaded is skipped, and a changed file becomes a new version while the old
  one stays exactly as it was. Everyone signed in, providers included, can read the loaded templates.

  Background:
    Given the agency and two providers, A and B, with their people

  Scenario: A partnerships officer checks and loads the plan's template
    When the partnerships officer checks the template "privacy-improvement-plan-2024-25.yaml"
    Then the check passes: 7 focus areas and at least 40 questions
    When the partnerships officer loads the templates in audit_templates
    Then the control library lists "pip-2024-25" version "2024.1" only
    And the staff member at provider A can read its focus areas: Leadership, Privacy function, Skills and capability, Appropriate access, Reporting, Assurance, Agency devices held by your people
    And every control in it names the plan's recommendations it implements
    When the partnerships officer loads the templates in audit_templates again
    Then nothing new is loaded
    And the control library lists "pip-2024-25" version "2024.1" only

  Scenario: A template with mistakes is reported in full and not loaded
    When the partnerships officer checks the template "template-ten-mistakes.yaml"
    Then the check fails with 10 problems, each with its place in the file and its line
    And one of them is "areas[0].controls[0].questions[0].weight: must be > 0 (line 17)"
    When the partnerships officer loads the template "template-ten-mistakes.yaml"
    Then it is not loaded
    And the control library is empty

  Scenario: A changed template is a new version and the old one stays as it was
    Given the partnerships officer has loaded the plan's template
    When the partnerships officer rewords "officer-named" as "Have you named a privacy officer?", labels the file "2024.2" and loads it
    Then the control library lists versions "2024.2, 2024.1", newest first
    And version "2024.1" still asks "officer-named" as "Have you named a privacy officer for your organisation?"
    And version "2024.2" asks "officer-named" as "Have you named a privacy officer?"
