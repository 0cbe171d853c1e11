"""Calibration of a 10,000-case sample (issue 11): loaded from CSV (read, checked and saved)
and fitted with every method — the four prices, each by client group and band of points, and
the section weights with 5-fold cross-validation — as the calibration page does it.

    python -m benchmarks.calibration_10k [CASES]

Uses its own database (BENCH_DATABASE_NAME, default ras_bench_calibration, on the server of
BENCH_DATABASE_URL, default the local server), dropped and created afresh. Target: under 5 s
for the load and the fit together.
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal

from benchmarks.database import recreate_database, use_bench_database

BENCH_DB = use_bench_database("ras_bench_calibration")
TARGET_SECONDS = 5.0


def sample_csv(cases: int) -> bytes:
    """`cases` rows with points in 8 sections (0–25 each) and a cost of about £5.89 a point,
    spread over every client group; seeded, so every run loads the same file."""
    from assessments.models import ClientGroup

    rng = random.Random(11)
    sections = [f"points_s{i}" for i in range(1, 9)]
    rows = [",".join(["reference", "client_group", "points", "weekly_cost", *sections])]
    for k in range(cases):
        points = [rng.randint(0, 25) for _ in sections]
        cost = max(
            Decimal(sum(points)) * Decimal("5.89") + Decimal(rng.randint(-3000, 3000)) / 100, 0
        )
        group = rng.choice(ClientGroup.values)
        rows.append(f"C{k},{group},{sum(points)},{Decimal(cost):.2f}," + ",".join(map(str, points)))
    return ("\n".join(rows) + "\n").encode()


def main(cases: int) -> int:
    recreate_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command

    from allocations.services.calibration import calibration_run, sample_load
    from assessments.demo import _teams, _users
    from assessments.roles import roles_sync

    call_command("migrate", verbosity=0)
    roles_sync()
    admin = _users(_teams())["ras.admin"]
    data = sample_csv(cases)

    started = time.perf_counter()
    sample = sample_load(actor=admin, name="Bench", data=data, filename="bench.csv")
    loaded = time.perf_counter()
    run = calibration_run(actor=admin, sample=sample, method="all")
    fitted = time.perf_counter()

    total = fitted - started
    assert not run.results["unfitted"], run.results["unfitted"]
    print(
        f"calibration: {cases:,} cases loaded in {loaded - started:.2f} s, fitted with every "
        f"method in {fitted - loaded:.2f} s: {total:.2f} s (target {TARGET_SECONDS:.0f} s)"
    )
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
