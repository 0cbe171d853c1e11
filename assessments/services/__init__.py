"""Writes and state transitions, one module per capability: people, questionnaires,
assessments, eligibility (and workflow: the errors they share). Each service runs in one
transaction, checks its own permission and records who did it in the history.

Import from the capability module (`from assessments.services.assessments import
assessment_submit`); this package re-exports nothing.
"""
