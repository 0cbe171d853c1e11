"""Actions that apps higher up add to an assessment's page (beside its status), so the page can
offer what they make from the assessment without assessments importing them (HOUSE STYLE §2b).

Apps higher up (allocations: the assessment as a PDF) register a function
(request, assessment) -> HTML or None in their AppConfig.ready().
"""

from __future__ import annotations

from assessments.page_sections import PageSections

ASSESSMENT_PAGE = PageSections()
register_assessment_action = ASSESSMENT_PAGE.register
assessment_actions = ASSESSMENT_PAGE.render
