"""The control library: questionnaire templates from audit_templates/, loaded as immutable versions."""
