"""Pages, one module per capability: people, assessments, questionnaires. Views parse the
request, get what the user may reach through a selector's door (`person_get_for_user`,
`assessment_get_for_user`, `questionnaire_get_for_user`: 404 unseen, 403 for an action the
role lacks), call a service, and render or redirect. This package re-exports nothing.
"""
