"""Letters are addressed as the person asks (their title and last name, or the name they
prefer to be called) and give the public rules page's full address."""

from __future__ import annotations

import datetime
import subprocess
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from allocations.letters.rendering import council, rules_page_url
from allocations.services.letters import letter_issue
from assessments.services.people import person_update

pytestmark = pytest.mark.django_db

# The template of every kind of letter (indicative, statement, panel decision).
LETTER_TEMPLATES = [
    "allocations/letters/indicative.html",
    "allocations/letters/statement.html",
    "panels/letters/decision.html",
]


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def test_an_indicative_letter_is_addressed_by_title_and_begins_with_the_preferred_name(
    submitted_a, person_a, worker_a
):
    person_update(actor=worker_a, person=person_a, data={"title": "Mrs", "preferred_name": "Edie"})
    person_a.refresh_from_db()
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    text = text_of(letter.read_pdf())
    assert "Mrs Edith Atkinson 1 High Street" in text  # above the address
    assert "Dear Edie," in text
    assert "Dear Edith" not in text and "Dear Mrs" not in text


@pytest.mark.parametrize("template", LETTER_TEMPLATES)
@pytest.mark.parametrize(
    ("title", "preferred_name", "dear", "above_the_address"),
    [
        ("Mr", "", "Dear Mr Atkinson,", "Mr Edith Atkinson\n"),
        ("", "", "Dear Edith Atkinson,", '<div class="address">Edith Atkinson\n'),
        ("Dr", "Edie", "Dear Edie,", "Dr Edith Atkinson\n"),
    ],
)
def test_every_kind_of_letter_uses_the_same_addressing(
    template, title, preferred_name, dear, above_the_address, person_a
):
    person_a.title, person_a.preferred_name = title, preferred_name
    stub = SimpleNamespace(  # what the templates read besides the person; never printed here
        referral=SimpleNamespace(meeting=SimpleNamespace(date=datetime.date(2026, 11, 20)))
    )
    html = render_to_string(
        template,
        {
            "person": person_a,
            "council": council(),
            "issued_on": datetime.date(2026, 12, 1),
            "title": "A letter",
            "budget": stub,
            "agreed": stub,
            "decision": stub,
        },
    )
    assert dear in html
    assert above_the_address in html
    assert html.count("Dear ") == 1


def test_the_indicative_letter_gives_the_rules_page_full_address(
    submitted_a, person_a, worker_a, settings
):
    settings.RULES_PAGE_URL = "https://www.demo-borough.example/personal-budgets/rules"
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    text = text_of(letter.read_pdf())
    assert (
        "The rules we use are published at "
        "https://www.demo-borough.example/personal-budgets/rules." in text
    )
    assert "published on our website" not in text


def test_the_statement_letter_gives_the_rules_page_full_address(person_a, settings):
    settings.RULES_PAGE_URL = "https://www.demo-borough.example/rules"
    html = render_to_string(
        "allocations/letters/statement.html",
        {"person": person_a, "council": council(), "agreed": SimpleNamespace()},
    )
    assert "are published at https://www.demo-borough.example/rules." in html


def test_without_a_setting_the_rules_page_is_this_sites_own(settings):
    settings.RULES_PAGE_URL = ""
    assert rules_page_url() == "http://127.0.0.1:8000/rules/"
    settings.SITE_URL = "https://budgets.demo-borough.example/"
    assert rules_page_url() == "https://budgets.demo-borough.example/rules/"


def test_a_rules_page_address_that_is_not_a_web_address_stops_start_up():
    from tests.test_settings import manage

    result = manage("check", RULES_PAGE_URL="www.demo-borough.example/rules")
    assert result.returncode != 0
    assert "RULES_PAGE_URL must be a full address starting https://" in result.stderr
