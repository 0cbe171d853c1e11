"""Extra sections on a questionnaire version's page, contributed by apps that build on
assessments.

Apps higher up (allocations) register a function (request, version) -> HTML or None in their
AppConfig.ready(), so a draft's page can show what publishing it would do to everyone's budget
without assessments importing them (HOUSE STYLE §2b).
"""

from __future__ import annotations

from assessments.page_sections import PageSections

QUESTIONNAIRE_PAGE = PageSections()
register_questionnaire_section = QUESTIONNAIRE_PAGE.register
questionnaire_sections = QUESTIONNAIRE_PAGE.render
