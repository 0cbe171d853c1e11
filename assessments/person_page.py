"""Extra sections on a person's page, contributed by apps that build on assessments.

Apps higher up (allocations, panels) register a function (request, person) -> HTML or None
in their AppConfig.ready(), so the person's page can show their budgets without assessments
importing them (HOUSE STYLE §2b).
"""

from __future__ import annotations

from assessments.page_sections import PageSections

PERSON_PAGE = PageSections()
register_person_section = PERSON_PAGE.register
person_sections = PERSON_PAGE.render
