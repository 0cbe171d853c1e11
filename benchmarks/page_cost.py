"""What each page of the load benchmark costs the server, one request at a time: wall time
(min and median of BENCH_REPEAT requests), database queries, and where the time goes.

    python -m benchmarks.page_cost            # on the load benchmark's database (seed it first)
    BENCH_PROFILE=1 python -m benchmarks.page_cost   # and the top functions of each page
    BENCH_PROFILE=1 BENCH_SORT=tottime python -m benchmarks.page_cost   # by own time

Requests go through Django's whole middleware stack with the test client (no HTTP server), so
the figures are the service's own cost per request; benchmarks.load shows what 50 users at once
see. Run benchmarks.load once first: this uses its database (BENCH_DATABASE_NAME, default
ras_bench_load) as it left it.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import statistics
import time

from benchmarks.database import use_bench_database

use_bench_database("ras_bench_load")


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ras_site.settings")
    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.load import accounts_load, caseload_load, round_steps

    repeat = int(os.environ.get("BENCH_REPEAT", "30"))
    profile = os.environ.get("BENCH_PROFILE") == "1"
    account = accounts_load(["load.sw01"])[0]
    caseload = caseload_load(team_code="north")
    client = Client(HTTP_HOST="127.0.0.1")
    from assessments.models import User

    client.force_login(User.objects.get(username=account.username))
    rng = random.Random(1)
    timings: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    db_ms: dict[str, list[float]] = {}
    cpu_ms: dict[str, list[float]] = {}
    profiles: dict[str, cProfile.Profile] = {}
    for n in range(repeat + 3):
        for step in round_steps(account, caseload, rng):
            send = client.post if step.method == "POST" else client.get
            warm = n >= 3
            prof = profiles.setdefault(step.page, cProfile.Profile()) if profile and warm else None
            with CaptureQueriesContext(connection) as captured:
                start, cpu = time.perf_counter(), time.process_time()
                if prof:
                    prof.enable()
                response = send(step.path, step.data) if step.data else send(step.path)
                if prof:
                    prof.disable()
                elapsed = time.perf_counter() - start
                cpu = time.process_time() - cpu
            if response.status_code >= 400:
                raise SystemExit(f"{step.page}: HTTP {response.status_code}")
            if step.method == "POST":
                account.lock_version += 1
            if warm:
                timings.setdefault(step.page, []).append(elapsed * 1000)
                cpu_ms.setdefault(step.page, []).append(cpu * 1000)
                queries[step.page] = len(captured)
                db_ms.setdefault(step.page, []).append(
                    sum(float(q["time"]) for q in captured.captured_queries) * 1000
                )
            reset_queries()
    print(
        f"{'page':<20} {'min ms':>8} {'median ms':>10} {'Python CPU':>10} {'db median':>10}"
        f" {'queries':>8}"
    )
    for page, values in timings.items():
        print(
            f"{page:<20} {min(values):8.1f} {statistics.median(values):10.1f}"
            f" {statistics.median(cpu_ms[page]):10.1f} {statistics.median(db_ms[page]):10.1f}"
            f" {queries[page]:8d}"
        )
    for page, prof in profiles.items():
        out = io.StringIO()
        order = os.environ.get("BENCH_SORT", "cumulative")  # or tottime
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(35)
        print(f"\n=== {page} ===\n" + out.getvalue())


if __name__ == "__main__":
    main()
