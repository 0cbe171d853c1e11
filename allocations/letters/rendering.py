"""A letter's HTML and its PDF (WeasyPrint), with the council's details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from allocations.letters.kinds import LetterContent
from allocations.pdf_worker import html_to_pdf
from assessments.models import Person

# Every letter's stylesheet (letters/base.html's) and its user-agent stylesheet (in place of
# WeasyPrint's: see allocations.pdf_worker), given to html_to_pdf with the letter's HTML: each
# PDF process parses them once.
LETTERS = Path(__file__).resolve().parents[1] / "templates" / "allocations" / "letters"
LETTER_STYLESHEET = str(LETTERS / "letter.css")
LETTER_USER_AGENT_STYLESHEET = str(LETTERS / "user-agent.css")
LETTER_STYLESHEETS = (LETTER_STYLESHEET, LETTER_USER_AGENT_STYLESHEET)  # html_to_pdf's, in order

# Where the site runs when no address is configured (`make run`).
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


def rules_page_url() -> str:
    """The public rules page's full address, as a letter prints it: RULES_PAGE_URL, or else
    this site's rules page under SITE_URL (when the site has one) or DEFAULT_SITE_URL."""
    if settings.RULES_PAGE_URL:
        return settings.RULES_PAGE_URL
    site = getattr(settings, "SITE_URL", "") or DEFAULT_SITE_URL
    return site.rstrip("/") + reverse("allocations:rules")


def council() -> dict[str, Any]:
    return {
        "name": settings.COUNCIL_NAME,
        "address": settings.COUNCIL_ADDRESS,
        "phone": settings.COUNCIL_PHONE,
        "email": settings.COUNCIL_EMAIL,
        "logo": settings.COUNCIL_LOGO.as_uri(),
        "signatory_name": settings.LETTER_SIGNATORY_NAME,
        "signatory_title": settings.LETTER_SIGNATORY_TITLE,
        "rules_url": rules_page_url(),
    }


def render_html(content: LetterContent, person: Person, issued_on) -> str:
    return render_to_string(
        content.template,
        {
            **content.context,
            "title": content.title,
            "person": person,
            "council": council(),
            "issued_on": issued_on,
        },
    )


def render_pdf(content: LetterContent, person: Person, issued_on) -> bytes:
    """A tagged, accessible PDF (PDF/UA-1) with its title and language set."""
    return letter_pdf(render_html(content, person, issued_on))


def letter_pdf(html: str) -> bytes:
    """The PDF of a letter's HTML (render_html's), styled by the letters' stylesheet."""
    return html_to_pdf(html, str(settings.BASE_DIR), *LETTER_STYLESHEETS)
