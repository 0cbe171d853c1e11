"""Writes and state transitions, one module per capability: people, questionnaires,
assessments, eligibility (and concurrency: the optimistic locking people and assessments
share). Each service runs in one transaction, checks its own permission and records who did it
in the history. An illegal status change raises `assessments.workflows.IllegalTransition`.

Import from the capability module (`from assessments.services.assessments import
assessment_submit`); this package re-exports nothing.
"""
