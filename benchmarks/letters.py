"""Letters: median milliseconds per letter, and letters per minute for a batch of 1,000.

    python -m benchmarks.letters [LETTERS]

Renders the indicative budget letter (with its "how this was worked out" table) for people
seeded into a fresh PostgreSQL database (letters_bench), one process, one FontConfiguration.
Aim (issue 6): median under 250 ms; 1,000 letters in under 3 minutes.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from benchmarks.database import recreate_database, use_bench_database

BENCH_DB = use_bench_database("letters_bench")


def main(count: int = 1000) -> None:
    recreate_database(BENCH_DB)

    import django

    django.setup()
    from django.core.management import call_command
    from weasyprint.text.ffi import harfbuzz_subset

    from allocations.letters.kinds import letter_content
    from allocations.letters.rendering import render_html, render_pdf
    from allocations.models import IndicativeBudget
    from allocations.pdf_worker import html_to_pdf

    call_command("migrate", verbosity=0)
    call_command("seed_demo", quiet_logins=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    budgets = list(
        IndicativeBudget.objects.filter(status="current").select_related("person", "policy")
    )
    print(f"harfbuzz subsetting: {'yes' if harfbuzz_subset is not None else 'NO (fontTools)'}")
    # Warm up: fonts load on the first letter.
    first = budgets[0].person
    render_pdf(letter_content("indicative", first), first, None)
    timings = []
    start = time.perf_counter()
    for index in range(count):
        person = budgets[index % len(budgets)].person
        content = letter_content("indicative", person)
        began = time.perf_counter()
        render_pdf(content, person, None)
        timings.append((time.perf_counter() - began) * 1000)
    elapsed = time.perf_counter() - start
    print(
        f"letters: {count:,} indicative letters in {elapsed:.1f} s: median "
        f"{statistics.median(timings):.0f} ms a letter (p95 "
        f"{statistics.quantiles(timings, n=20)[-1]:.0f} ms), {count / elapsed * 60:,.0f} letters "
        f"a minute in one process (target 250 ms a letter)"
    )

    # A batch as letter_batch_run makes it: pages laid out here, PDFs by one process a core.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.conf import settings

    start = time.perf_counter()
    pages = []
    for index in range(count):
        person = budgets[index % len(budgets)].person
        pages.append(render_html(letter_content("indicative", person), person, None))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(settings.LETTER_PROCESSES, mp_context=context) as pool:
        pdfs = list(pool.map(html_to_pdf, pages, [str(settings.BASE_DIR)] * count, chunksize=8))
    elapsed = time.perf_counter() - start
    print(
        f"batch: {len(pdfs):,} letters with {settings.LETTER_PROCESSES} processes in "
        f"{elapsed:.1f} s, {count / elapsed * 60:,.0f} letters a minute (target 1,000 in 180 s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
