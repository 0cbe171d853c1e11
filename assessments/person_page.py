"""Extra sections on a person's page, contributed by apps that build on assessments.

Apps higher up (allocations, panels) register a function (request, person) -> HTML or None
in their AppConfig.ready(), so the person's page can show their budgets without assessments
importing them (HOUSE STYLE §2b).
"""

from __future__ import annotations

from collections.abc import Callable

Section = Callable[..., str | None]
_sections: list[Section] = []


def register_person_section(section: Section) -> Section:
    if section not in _sections:
        _sections.append(section)
    return section


def person_sections(request, person) -> list[str]:
    return [html for html in (section(request, person) for section in _sections) if html]
