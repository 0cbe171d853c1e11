"""Extra sections on a questionnaire version's page, contributed by apps that build on
assessments.

Apps higher up (allocations) register a function (request, version) -> HTML or None in their
AppConfig.ready(), so a draft's page can show what publishing it would do to everyone's budget
without assessments importing them (HOUSE STYLE §2b). The same shape as person_page.
"""

from __future__ import annotations

from collections.abc import Callable

Section = Callable[..., str | None]
_sections: list[Section] = []


def register_questionnaire_section(section: Section) -> Section:
    if section not in _sections:
        _sections.append(section)
    return section


def questionnaire_sections(request, version) -> list[str]:
    return [html for html in (section(request, version) for section in _sections) if html]
