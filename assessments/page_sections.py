"""Sections that apps higher up add to one of assessments' pages (a person's page, a
questionnaire version's page), so the page can show their records without assessments
importing them (HOUSE STYLE §2b). Each app registers a function (request, record) -> HTML or
None in its AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable

Section = Callable[..., str | None]


class PageSections:
    """One page's registry of extra sections, shown in the order registered."""

    def __init__(self) -> None:
        self._sections: list[Section] = []

    def register(self, section: Section) -> Section:
        if section not in self._sections:
            self._sections.append(section)
        return section

    def render(self, request, record) -> list[str]:
        """Each section's HTML for `record`, leaving out those with nothing to show."""
        return [html for html in (section(request, record) for section in self._sections) if html]
