"""Reads, always scoped to the user asking, one module per capability: people (the team rule
`team_allowed`, `people_visible_to` with `register_visibility`, and `person_get_for_user`, the
one door to a person's record: 404 for anyone who may not see them, 403 for an action their
role lacks), assessments, eligibility, questionnaires, and history.

Import from the capability module; this package re-exports nothing.
"""
