"""Engine throughput: cases per second on a synthetic caseload (no database).

python -m benchmarks.engine_throughput [CASES]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from decimal import Decimal

from allocations.engine import Case, calculate, validate_policy
from allocations.engine.examples import SPEC_POLICY

POLICY = SPEC_POLICY
GROUPS = ["older_people", "physical_disability", "learning_disability", "mental_health"]
LEVELS = [None, "none", "some", "substantial", "most"]


def synthetic_cases(n: int, seed: int = 1) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        level = rng.choice(LEVELS)
        cases.append(
            Case(
                ref=f"B{i}",
                points=tuple(Decimal(rng.choice([0, 1, 2, 3, 4, 5, 8])) for _ in range(30)),
                client_group=rng.choice(GROUPS),
                informal_support=level,
                carer_assessed=rng.random() < 0.6,
                carer_able_and_willing=rng.random() < 0.8,
                carer_impact=rng.choice(["low", "moderate", "high"]),
                existing_weekly_cost=Decimal(rng.randrange(5000, 60000)) / 100
                if rng.random() < 0.3
                else None,
                needs_increased=rng.random() < 0.3,
                triggers=tuple(rng.sample(["nhs_chc", "dfg", "access_to_work"], rng.randint(0, 2))),
            )
        )
    return cases


def main(n: int = 100_000) -> None:
    cases = synthetic_cases(n)
    validate_policy(POLICY)
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for case in cases:
            calculate(POLICY, case, policy_checked=True)
        rates.append(n / (time.perf_counter() - start))
    print(
        f"engine: {n:,} cases (30 answers each), best of 3: {max(rates):,.0f} cases/s "
        f"(median {statistics.median(rates):,.0f})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
