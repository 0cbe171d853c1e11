"""The letters' quicker layout (allocations/letters/base.html: floats, not flexbox, for the
letterhead; a fixed-layout table for "How this figure was worked out") keeps what a reader sees:
the address below the letterhead, where an envelope's window shows it, and every figure inside
the page's margins however large, in a real, tagged table. Checked in real PDFs (pdftotext)."""

from __future__ import annotations

import datetime
import re
import subprocess
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.template.loader import render_to_string

from allocations.letters.rendering import council
from allocations.pdf_worker import html_to_pdf
from allocations.selectors.budgets import ExplanationRow

A4_WIDTH = 595.28  # points
RIGHT_MARGIN = 20 / 25.4 * 72  # the letters' @page margin, 20 mm

# The widest figures a column of the explanation can hold: a large package, many points.
LARGE_FIGURES = ["12345.00 points", "− £12,345.67", "£987,654.32", "− £123,456.78"]


def letter_pdf(rows: list[ExplanationRow]) -> bytes:
    person = SimpleNamespace(
        reference="ASC-000001",
        addressed_as="Mrs Edith Atkinson",
        salutation="Mrs Atkinson",
        address_lines=["1 High Street", "Northby", "NB1 1AA"],
    )
    budget = SimpleNamespace(
        indicative_weekly_gbp=Decimal("18993.35"),
        annual_gbp=Decimal("987654.20"),
        basis="ras",
        panel_required=True,
        created_at=datetime.datetime(2026, 12, 1, 9, 0),
        policy=SimpleNamespace(name="RAS 2026/27", effective_from=datetime.date(2026, 4, 1)),
    )
    html = render_to_string(
        "allocations/letters/indicative.html",
        {
            "title": "Your indicative personal budget – ASC-000001",
            "person": person,
            "council": council(),
            "issued_on": datetime.date(2026, 12, 1),
            "budget": budget,
            "explanation": rows,
            "triggers": [],
        },
    )
    return html_to_pdf(html, str(settings.BASE_DIR))


def words(pdf: bytes) -> list[tuple[str, float, float, float, float]]:
    """Every word of the PDF with its box (x min, y min, x max, y max), by pdftotext -bbox."""
    result = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    )
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        (text, float(x0), float(y0), float(x1), float(y1))
        for x0, y0, x1, y1, text in re.findall(pattern, result.stdout.decode())
    ]


def test_the_largest_figures_stay_whole_inside_the_margins_of_a_real_table():
    rows = [
        ExplanationRow(f"Step {n}", "What was done, in a sentence long enough to wrap.", amount)
        for n, amount in enumerate(LARGE_FIGURES, start=1)
    ]
    pdf = letter_pdf(rows)

    laid_out = words(pdf)
    text = " ".join(word for word, *_ in laid_out)
    for amount in LARGE_FIGURES:
        assert amount in text  # on one line, not broken
    right_edge = A4_WIDTH - RIGHT_MARGIN
    outside = [word for word, _, _, x1, _ in laid_out if x1 > right_edge + 0.5]
    assert outside == []
    # Still a table of figures for a screen reader: header cells and data cells, tagged.
    structure = subprocess.run(
        ["pdfinfo", "-struct", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Table" in structure and "TH" in structure and "TD" in structure


def test_the_address_sits_below_the_letterhead():
    pdf = letter_pdf([ExplanationRow("Step", "Detail", "£1.00")])

    laid_out = words(pdf)
    email = next(w for w in laid_out if w[0] == settings.COUNCIL_EMAIL)
    addressee = next(w for w in laid_out if w[0] == "Edith")
    assert addressee[2] > email[4]  # the address starts below the council's last line
    assert addressee[1] < A4_WIDTH / 2  # on the left, where the window is
