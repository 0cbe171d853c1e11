"""python manage.py ras_calculate INPUT.json [-o OUTPUT.json]

Reads {"policy": {...}, "cases": [...]} and writes {"results": [...]}, exactly as the batch
interface in spec/ras-calculation.md describes. With a policy in the file no database is used;
without one, the policy in force today is read from the database.

Exit status: 0 all calculated; 1 some case failed (its result holds "error"); 2 the policy
(or the file) is invalid.

Numbers are read as Decimals, never through float. A number the engine refuses (NaN, Infinity,
1e309, or one too large even to read) is reported against its field: in the policy, exit 2; in
a case, that case's error.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from allocations.engine import (
    RasInputError,
    calculate,
    case_from_dict,
    policy_from_dict,
    result_to_dict,
    validate_policy,
)


def _json_decimal(text: str) -> Decimal | str:
    """A JSON number with a fraction or exponent, exactly. One too large even to hold as a
    Decimal (1e99999999999999999999) stays text, for the engine to refuse naming its field."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _json_int(text: str) -> int | Decimal:
    """A JSON integer; one with more digits than Python reads as an int (4300) becomes a
    Decimal, for the engine to refuse as too large naming its field."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def _json_default(value: object) -> str:
    """Only a ref can reach the output as a Decimal (the input gave it as a number, NaN or
    Infinity); it goes back as text, so the output is always valid JSON."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Command(BaseCommand):
    help = "Calculate indicative budgets for a batch of cases (see spec/ras-calculation.md)."
    requires_system_checks = []  # a policy in the file means no database is needed

    def add_arguments(self, parser):
        parser.add_argument("input", help="JSON file of {policy, cases}; '-' reads stdin")
        parser.add_argument("-o", "--output", help="where to write the results (default stdout)")

    def handle(self, *args, input, output=None, **options):
        try:
            text = sys.stdin.read() if input == "-" else open(input, encoding="utf-8").read()  # noqa: SIM115
            data = json.loads(
                text, parse_float=_json_decimal, parse_int=_json_int, parse_constant=Decimal
            )
        except OSError as problem:
            raise CommandError(f"Cannot read {input}: {problem.strerror}", returncode=2) from None
        except json.JSONDecodeError as problem:
            raise CommandError(f"{input} is not valid JSON: {problem}", returncode=2) from None
        except UnicodeDecodeError:
            raise CommandError(f"{input} is not UTF-8 text", returncode=2) from None
        if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
            raise CommandError('The input must be {"policy": {...}, "cases": [...]}', returncode=2)

        try:
            if data.get("policy") is not None:
                policy = policy_from_dict(data["policy"])
            else:
                policy = self._policy_in_force()
            validate_policy(policy)
        except RasInputError as problem:
            raise CommandError(f"Invalid policy: {problem}", returncode=2) from None

        results, failed = [], 0
        for raw in data["cases"]:
            # The ref goes back exactly as given (null when absent), success or failure.
            ref = raw.get("ref") if isinstance(raw, dict) else None
            try:
                result = calculate(policy, case_from_dict(raw), policy_checked=True)
            except RasInputError as problem:
                failed += 1
                results.append({"ref": ref, "error": str(problem)})
            else:
                results.append({**result_to_dict(result), "ref": ref})

        out = (
            json.dumps({"results": results}, indent=2, ensure_ascii=False, default=_json_default)
            + "\n"
        )
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(out)
        else:
            self.stdout.write(out, ending="")
        if failed:
            self.stderr.write(f"{failed} of {len(results)} cases failed; see their 'error'.")
            sys.exit(1)

    def _policy_in_force(self):
        from django.utils import timezone

        from allocations.adapter import engine_policy
        from allocations.selectors.policies import policy_in_force_on

        policy = policy_in_force_on(timezone.localdate())
        if policy is None:
            raise CommandError(
                "The file has no policy and no RAS policy is in force today.", returncode=2
            )
        return engine_policy(policy)
