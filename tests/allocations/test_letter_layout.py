"""The letters' quicker layout (allocations/letters/base.html and letter.css: floats, not
flexbox, for the letterhead, in a box of their own; lines of an address ended by newlines, not
<br>; one stylesheet for every letter, the reference in the page's header taken from the
letter's own line; a fixed-layout table for "How this figure was worked out") keeps what a
reader sees: the address below the letterhead, where an envelope's window shows it, one line
for each line of it; the reference and "Page n of m" on every page; and every figure inside the
page's margins however large, in a real, tagged table. Checked in real PDFs (pdftotext)."""

from __future__ import annotations

import datetime
import re
import subprocess
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.template.loader import render_to_string

from allocations.letters.rendering import council, letter_pdf
from allocations.selectors.budgets import ExplanationRow

A4_WIDTH, A4_HEIGHT = 595.28, 841.89  # points
RIGHT_MARGIN = 20 / 25.4 * 72  # the letters' @page margin, 20 mm

# The widest figures a column of the explanation can hold: a large package, many points.
LARGE_FIGURES = ["12345.00 points", "− £12,345.67", "£987,654.32", "− £123,456.78"]


def letter_html(template: str, title: str, reference: str = "ASC-000001", **context) -> str:
    """A letter's HTML from its template, for one made-up person on 1 December 2026."""
    person = SimpleNamespace(
        reference=reference,
        addressed_as="Mrs Edith Atkinson",
        salutation="Mrs Atkinson",
        address_lines=["1 High Street", "Northby", "NB1 1AA"],
    )
    return render_to_string(
        f"allocations/letters/{template}.html",
        {
            "title": f"{title} – {reference}",
            "person": person,
            "council": council(),
            "issued_on": datetime.date(2026, 12, 1),
            **context,
        },
    )


def indicative_pdf(rows: list[ExplanationRow], reference: str = "ASC-000001") -> bytes:
    budget = SimpleNamespace(
        indicative_weekly_gbp=Decimal("18993.35"),
        annual_gbp=Decimal("987654.20"),
        basis="ras",
        panel_required=True,
        created_at=datetime.datetime(2026, 12, 1, 9, 0),
        policy=SimpleNamespace(name="RAS 2026/27", effective_from=datetime.date(2026, 4, 1)),
    )
    return letter_pdf(
        letter_html(
            "indicative",
            "Your indicative personal budget",
            reference,
            budget=budget,
            explanation=rows,
            triggers=[],
        )
    )


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
    pdf = indicative_pdf(rows)

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
    pdf = indicative_pdf([ExplanationRow("Step", "Detail", "£1.00")])

    laid_out = words(pdf)
    email = next(w for w in laid_out if w[0] == settings.COUNCIL_EMAIL)
    addressee = next(w for w in laid_out if w[0] == "Edith")
    assert addressee[2] > email[4]  # the address starts below the council's last line
    assert addressee[1] < A4_WIDTH / 2  # on the left, where the window is


def pages_of_words(pdf: bytes) -> list[list[tuple[str, float, float, float, float]]]:
    """words(), page by page."""
    result = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    )
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [
        [
            (text, float(x0), float(y0), float(x1), float(y1))
            for x0, y0, x1, y1, text in re.findall(pattern, page)
        ]
        for page in result.stdout.decode().split("<page ")[1:]
    ]


def line_of(laid_out, first_word: str) -> str:
    """The words on the line of `first_word`'s first appearance (the same top edge and the same
    half of the page), left to right."""
    start = next(w for w in laid_out if w[0] == first_word)
    return " ".join(
        w[0]
        for w in sorted(laid_out, key=lambda w: w[1])
        if abs(w[2] - start[2]) < 1 and (w[1] > A4_WIDTH / 2) == (start[1] > A4_WIDTH / 2)
    )


def test_every_page_of_a_letter_has_its_reference_at_the_top_and_its_number_at_the_foot():
    # The reference comes from the letter's own "Our reference" line (the stylesheet is the
    # same for every letter): two letters in a row, one process, each with its own.
    top_margin = 22 / 25.4 * 72
    for reference in ("ASC-000001", "ASC-000002"):
        rows = [ExplanationRow(f"Step {n}", "What was done. " * 6, "£1.00") for n in range(40)]
        pdf = indicative_pdf(rows, reference=reference)
        pages = pages_of_words(pdf)
        assert len(pages) >= 3
        for number, laid_out in enumerate(pages, start=1):
            header = [w for w in laid_out if w[4] < top_margin]
            assert " ".join(w[0] for w in header) == f"Our reference: {reference}"
            assert min(w[1] for w in header) > A4_WIDTH / 2  # at the top right, to the margin
            assert abs(max(w[3] for w in header) - (A4_WIDTH - RIGHT_MARGIN)) < 1
            footer = [w for w in laid_out if w[2] > A4_HEIGHT - 24 / 25.4 * 72]
            assert " ".join(w[0] for w in footer) == f"Page {number} of {len(pages)}"
            middle = (min(w[1] for w in footer) + max(w[3] for w in footer)) / 2
            assert abs(middle - A4_WIDTH / 2) < 1  # centred


def test_each_line_of_the_address_and_of_the_council_s_details_is_a_line_of_its_own():
    laid_out = words(indicative_pdf([ExplanationRow("Step", "Detail", "£1.00")]))

    assert line_of(laid_out, "Mrs") == "Mrs Edith Atkinson"
    assert line_of(laid_out, "1") == "1 High Street"
    assert line_of(laid_out, "Northby") == "Northby"
    assert line_of(laid_out, "NB1") == "NB1 1AA"
    name, street = (next(w for w in laid_out if w[0] == word) for word in ("Mrs", "1"))
    assert street[2] > name[4] and abs(street[1] - name[1]) < 0.5  # below it, left-aligned
    # The letterhead's details: on the right, above the address, one line each, in order.
    letterhead = [w for w in laid_out if w[1] > A4_WIDTH / 2 and w[4] < name[2]]
    details = [settings.COUNCIL_NAME, *settings.COUNCIL_ADDRESS, settings.COUNCIL_PHONE]
    details.append(settings.COUNCIL_EMAIL)
    assert [line_of(letterhead, line.split()[0]) for line in details] == details
    tops = [next(w for w in letterhead if w[0] == line.split()[0])[2] for line in details]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)


def statement_pdf(lines: list[tuple[str, str, str, str]]) -> bytes:
    """A budget statement with the largest figures a budget could hold; `lines` are the plan's
    (description, provider, amount, weekly equivalent)."""
    agreed = SimpleNamespace(
        weekly_gbp=Decimal("18993.35"),
        annual_gbp=Decimal("987654.20"),
        one_off_gbp=Decimal("123456.78"),
        contribution_weekly_gbp=Decimal("12345.67"),
        council_weekly_gbp=Decimal("6647.68"),
        indicative_weekly_gbp=Decimal("18993.35"),
        difference_reason="",
        conditions="",
        review_date=datetime.date(2027, 12, 1),
    )
    managed = SimpleNamespace(
        direct_payment_weekly=Decimal("18993.35"),
        contribution_off_direct_payment_weekly=Decimal("12345.67"),
        direct_payment_net_weekly=Decimal("6647.68"),
        council_managed_weekly=Decimal(0),
        isf_weekly=Decimal(0),
        contribution_to_services_weekly=Decimal(0),
        contribution_weekly=Decimal("12345.67"),
    )
    html = letter_html(
        "statement",
        "Your personal budget statement",
        agreed=agreed,
        managed=managed,
        lines=[
            (
                SimpleNamespace(
                    get_category_display=lambda: "Agency home care",
                    description=description,
                    provider=provider,
                ),
                amount,
                weekly,
            )
            for description, provider, amount, weekly in lines
        ],
    )
    return letter_pdf(html)


def test_a_statement_s_tables_keep_every_figure_whole_inside_the_margins():
    # Its tables have fixed columns (one pass of layout): amounts with words wrap between
    # their phrases, never inside a figure, and nothing runs past the right margin.
    pdf = statement_pdf(
        [
            ("Home care visits", "Caring Hands Ltd", "140 hours × £24.80", "£3,472.00 per week"),
            (
                "Respite stays",
                "Rowan House",
                "60 nights × £195.00",
                "£11,700.00 a month × 12 ÷ 52 = £2,700.00 a week",
            ),
            (
                "A ceiling track hoist for the bedroom and the bathroom",
                "Community equipment service of the borough",
                "1 item × £12,345.67",
                "£12,345.67 once (not in the weekly cost)",
            ),
        ]
    )

    laid_out = words(pdf)
    text = " ".join(word for word, *_ in laid_out)
    figures = ["£18,993.35", "(£987,654.20", "£123,456.78", "£12,345.67", "£6,647.68", "£11,700.00"]
    for figure in figures:
        assert figure in text.split()  # whole, not broken across lines
    right_edge = A4_WIDTH - RIGHT_MARGIN
    assert [word for word, _, _, x1, _ in laid_out if x1 > right_edge + 0.5] == []
    # The cost a week and a year: each phrase on one line, the week's first.
    week = line_of(laid_out, "£18,993.35")
    assert "£18,993.35 a week" in week
    year = line_of(laid_out, "(£987,654.20")
    assert "(£987,654.20 a year)" in year
    # A worked weekly figure: its result on a line of its own, below the sum.
    assert line_of(laid_out, "=") == "= £2,700.00 a week"
    assert line_of(laid_out, "£11,700.00").endswith("£11,700.00 a month × 12 ÷ 52")
    assert (
        next(w for w in laid_out if w[0] == "=")[2]
        > next(w for w in laid_out if w[0] == "£11,700.00")[4] - 0.5
    )
    # A line's amount on a line of its own below its description, in smaller type.
    description = next(w for w in laid_out if w[0] == "visits")
    amount = next(w for w in laid_out if w[0] == "140")
    assert amount[2] > description[4] - 0.5
    assert (amount[4] - amount[2]) < (description[4] - description[2])
    # Still real tables for a screen reader.
    structure = subprocess.run(
        ["pdfinfo", "-struct", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert structure.count("Table") >= 3 and "TH" in structure and "TD" in structure


def test_a_statement_names_each_line_s_provider_below_its_description():
    # Who provides a line is a line of its own in the line's cell, under what it is and above
    # what it costs, not a narrow column of its own; a line with no provider says nothing.
    pdf = statement_pdf(
        [
            ("Home care visits", "Caring Hands Ltd", "14 hours × £24.80", "£347.20 per week"),
            ("Gardening", "", "1 visit × £20.00", "£20.00 per week"),
        ]
    )

    laid_out = words(pdf)
    text = " ".join(word for word, *_ in laid_out)
    assert line_of(laid_out, "Provided") == "Provided by Caring Hands Ltd"
    assert text.count("Provided by") == 1
    description = next(w for w in laid_out if w[0] == "visits")
    provider = next(w for w in laid_out if w[0] == "Provided")
    amount = next(w for w in laid_out if w[0] == "14")
    assert description[4] - 0.5 < provider[2] < amount[2]
    assert abs(provider[1] - amount[1]) < 0.5  # the same left edge, in the first column
    # The line's weekly equivalent sits in the second column, on its description's line.
    assert line_of(laid_out, "£347.20") == "£347.20 per week"
    assert next(w for w in laid_out if w[0] == "£347.20")[2] == description[2]
    assert "Provider" not in text.split()


def test_letters_made_at_once_in_two_threads_each_draw_the_logo_on_their_own_page():
    # Each thread keeps the images it has read (allocations.pdf_worker.image_cache): a parsed
    # SVG holds the page it is drawing on, so a logo shared by two threads could be drawn on
    # the other's letter. Every letter, whichever thread made it, has the same first page.
    import io
    import threading

    from pypdf import PdfReader

    from allocations.pdf_worker import image_cache

    rows = [ExplanationRow("Step", "Detail", "£1.00")]

    def first_page(pdf: bytes) -> bytes:
        return PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data()

    expected = first_page(indicative_pdf(rows))
    made, caches = [], []

    def make() -> None:
        for _ in range(4):
            made.append(first_page(indicative_pdf(rows)))
        caches.append(image_cache())

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(made) == 8 and all(page == expected for page in made)
    assert caches[0] is not caches[1] and caches[0] is not image_cache()
    assert all(any(url.endswith("logo.svg") for url in cache) for cache in caches)


def test_a_worked_weekly_figure_keeps_its_operators_with_their_numbers_and_its_result_apart():
    from allocations.templatetags.money import result_apart

    assert result_apart("£400.00 a month × 12 ÷ 52 = £92.31 a week") == (
        "£400.00 a month ×\u00a012 ÷\u00a052\n= £92.31 a week"
    )
    assert result_apart("£46.50 per week") == "£46.50 per week"
