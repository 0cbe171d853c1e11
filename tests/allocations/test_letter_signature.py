"""A signature never sits alone on a page: the letters' last paragraph, the sign-off and the
signature are kept together (allocations/letters/letter.css), checked in real PDFs."""

from __future__ import annotations

import datetime
import subprocess
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import engines
from weasyprint import CSS, HTML

from allocations.letters.rendering import LETTER_STYLESHEET, council, letter_pdf
from allocations.services.letters import letter_issue
from allocations.services.plans import plan_authorise, plan_submit

KEEP_TOGETHER = ".closing { break-inside: avoid; break-before: avoid; }"
SIGN_OFF = "Yours sincerely"
LAST_PARAGRAPH = "Questions, or if you disagree"

# A letter of the shared layout whose body is `lines` short paragraphs, ending as every letter
# does: its last paragraph, then the sign-off and signature.
LETTER = engines["django"].from_string(
    '{% extends "allocations/letters/base.html" %}'
    "{% block body %}<h1>Your letter</h1>"
    "{% for n in lines %}<p>Paragraph {{ n }} of the letter.</p>{% endfor %}{% endblock %}"
    "{% block closing %}<h2>Questions, or if you disagree</h2>"
    "<p>Contact your social worker.</p>{% endblock %}"
)


def letter_html(lines: int) -> str:
    person = SimpleNamespace(
        reference="ASC-000001",
        addressed_as="Mrs Edith Atkinson",
        salutation="Mrs Atkinson",
        address_lines=["1 High Street", "Northby", "NB1 1AA"],
    )
    return LETTER.render(
        {
            "person": person,
            "council": council(),
            "issued_on": datetime.date(2026, 12, 1),
            "title": "A long letter",
            "lines": range(1, lines + 1),
        }
    )


def pages_of(pdf: bytes) -> list[str]:
    """Each page's text, by pdftotext (pages are separated by form feeds)."""
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return [" ".join(page.split()) for page in result.stdout.decode().split("\f")]


def signature_page(html: str, stylesheet: str) -> str:
    """The laid-out text of the page the sign-off is on, styled by `stylesheet` (WeasyPrint's
    boxes: quicker than writing a PDF for each length tried)."""
    document = HTML(string=html, base_url=str(settings.BASE_DIR))
    for page in document.render(stylesheets=[CSS(string=stylesheet)]).pages:
        text = " ".join(_texts(page._page_box))
        if SIGN_OFF in text:
            return text
    raise AssertionError("No page has the sign-off.")


def _texts(box):
    if getattr(box, "text", None):
        yield box.text
    for child in getattr(box, "children", ()):
        yield from _texts(child)


def test_a_letter_that_fills_its_page_takes_its_last_paragraph_over_with_the_signature():
    # Lengthen the letter a paragraph at a time until, without the rule, the sign-off would
    # start a page of its own: a letter long enough that the rule matters.
    with open(LETTER_STYLESHEET, encoding="utf-8") as file:
        stylesheet = file.read()
    assert KEEP_TOGETHER in stylesheet
    loose = stylesheet.replace(KEEP_TOGETHER, "")
    for lines in range(34, 80):
        html = letter_html(lines)
        if not signature_page(html, loose).startswith(SIGN_OFF):
            continue
        pages = pages_of(letter_pdf(html))
        (page,) = [p for p in pages if SIGN_OFF in p]
        assert LAST_PARAGRAPH in page and "Contact your social worker." in page
        assert page.index(LAST_PARAGRAPH) < page.index(SIGN_OFF)
        assert f"Paragraph {lines} of the letter." in pages[-2] + page  # nothing is lost
        return
    pytest.fail("No length of letter put the sign-off at the top of a page without the rule.")


@pytest.mark.django_db
def test_a_long_statement_letter_signs_off_below_its_last_paragraph(
    submitted_a, person_a, worker_a, manager_a
):
    from allocations.services.plans import plan_line_add, plan_start
    from tests.factories import plan_line

    plan = plan_start(actor=worker_a, person=person_a)
    for n in range(40):
        plan_line_add(
            actor=worker_a,
            plan=plan,
            data=plan_line(weekly="3.00", description=f"Support item number {n}"),
        )
    plan_authorise(actor=manager_a, plan=plan_submit(actor=worker_a, plan=plan))
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="statement")
    pages = pages_of(letter.read_pdf())
    (page,) = [p for p in pages if SIGN_OFF in p]
    assert len([p for p in pages if p]) >= 2
    assert page.index(LAST_PARAGRAPH) < page.index(SIGN_OFF)
