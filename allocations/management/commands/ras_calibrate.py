"""python manage.py ras_calibrate SAMPLE.csv [--method ratio|origin|intercept|median|weights]
[--policy ID] [--budget WEEKLY] [--transitional] [--scale] [--sensitivity FROM TO STEP] [--json]

Fits a calibration sample file (CSV or XLSX, as the calibration page loads it) and prints the
figures the run page shows (issue 11): the method's price per point and its statistics overall,
by client group and by band of points (or, for "weights", the suggested £ a point by section
with in-sample and cross-validated R²); "as the policy would pay" with --policy (and with its
transitional rule, each case's current cost its existing package, with --transitional); the
price that spends a weekly --budget, with its sensitivity table, under that policy (or the
policy in force); and with --scale the sample weighted to the live caseload by client group, so
the budget is the whole caseload's and the sensitivity rows are projected to it; --sensitivity
gives a sensitivity table at the prices from FROM to TO in steps of STEP. Prices and statistics
to 4 decimal places.

With --json the report is one JSON object, client groups by their codes and every figure a
string (no penny lost to a float); the method's price is under "price_per_point" (null for
"weights", which has a price per section instead). Nothing is saved: a run kept with who made
it is made on the calibration page.

Exit status: 0 fitted; 1 the file is refused (each problem on a line of its own, by row and
column) or cannot be fitted that way; 2 a bad argument (an unknown policy, an unreadable file).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from allocations.calibration.fitting import METHOD_NAMES, METHODS, round4
from allocations.calibration.samples import SampleInvalid, describe, read_sample
from allocations.services.calibration import WEIGHTS, calibration_report
from assessments.models import ClientGroup

CHOICES = (*METHODS, WEIGHTS)
STATS = (
    ("n", "n"),
    ("price_per_point", "Price/point"),
    ("r2", "R²"),
    ("correlation", "Correlation"),
    ("mape", "MAPE"),
    ("within_10", "±10%"),
    ("within_20", "±20%"),
    ("fewer", "Get less"),
    ("more", "Get more"),
    ("mean_difference", "Mean diff (£)"),
)


def _four(value) -> str:
    """A price or statistic to 4 decimal places ("—" when there is none)."""
    if value is None:
        return "—"
    return str(round4(Decimal(str(value))))


class Command(BaseCommand):
    help = "Fit a calibration sample (CSV or XLSX) and print the price per point and its figures."
    requires_system_checks = []  # a file alone needs no database; --policy/--budget/--scale do

    def add_arguments(self, parser):
        parser.add_argument("sample", help="the sample file, .csv or .xlsx")
        parser.add_argument("--method", choices=CHOICES, default="ratio")
        parser.add_argument("--policy", type=int, help="the RAS policy's id: as it would pay")
        parser.add_argument("--budget", help="weekly budget (£) to solve the price for")
        parser.add_argument(
            "--transitional",
            action="store_true",
            help="apply the policy's transitional rule, each case's current cost its existing "
            "package",
        )
        parser.add_argument(
            "--scale",
            action="store_true",
            help="weight the sample to the live caseload by client group (the budget is then "
            "the whole caseload's)",
        )
        parser.add_argument(
            "--sensitivity",
            nargs=3,
            metavar=("FROM", "TO", "STEP"),
            help="a sensitivity table at the prices FROM, FROM + STEP, … TO (£ a point)",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(
        self,
        *args,
        sample,
        method,
        policy,
        budget,
        transitional,
        scale,
        sensitivity,
        json: bool,
        **options,
    ):
        path = Path(sample)
        try:
            data = path.read_bytes()
        except OSError as problem:
            raise CommandError(f"Cannot read {sample}: {problem.strerror}", returncode=2) from None
        try:
            cases = read_sample(data, path.name, client_groups=ClientGroup.values)
        except SampleInvalid as invalid:
            self.stderr.write(f"{sample} was refused: nothing was fitted.")
            for error in invalid.errors:
                self.stderr.write(describe(error))
            sys.exit(1)
        weekly = self._budget(budget)
        prices = self._prices(sensitivity)
        rules = self._policy(policy)
        counts = None
        if scale:
            from allocations.selectors.calibration import caseload_group_counts

            counts = caseload_group_counts()
        try:
            report = calibration_report(
                cases,
                method=method,
                policy=rules,
                budget=weekly,
                caseload=counts,
                transitional=transitional,
                prices=prices,
            )
        except ValidationError as unfit:
            raise CommandError(" ".join(unfit.messages), returncode=1) from None
        fitted = report["methods"].get(method)
        out = {
            "sample": path.name,
            "cases": len(cases),
            "method": method,
            "price_per_point": fitted["fit"]["price_per_point"] if fitted else None,
            "intercept": fitted["fit"]["intercept"] if fitted else None,
            "policy": str(rules) if rules is not None else None,
            "transitional": transitional,
            "report": fitted,
            "weights": report["weights"],
            "scale_up": report.get("scale_up"),
            "affordability": report["affordability"],
            "sensitivity": report.get("sensitivity"),
        }
        if json:
            self.stdout.write(_dumps(out))
        else:
            self._print(out)

    def _budget(self, text: str | None) -> Decimal | None:
        if text is None:
            return None
        try:
            value = Decimal(text.strip().removeprefix("£").replace(",", ""))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value <= 0:
            raise CommandError(
                f"--budget must be a weekly amount in £ (got {text!r}).", returncode=2
            )
        return value

    def _prices(self, bounds: list[str] | None) -> list[Decimal] | None:
        if bounds is None:
            return None
        try:
            low, high, step = (Decimal(b) for b in bounds)
        except InvalidOperation:
            low = high = step = None
        if None in (low, high, step) or not (0 <= low < high and step > 0):
            raise CommandError(
                "--sensitivity takes FROM TO STEP in £ a point, FROM below TO, STEP above 0.",
                returncode=2,
            )
        from allocations.forms import sensitivity_prices

        return sensitivity_prices(low, high, step)

    def _policy(self, pk: int | None):
        if pk is None:
            return None
        from allocations.models import RasPolicy

        try:
            return RasPolicy.objects.get(pk=pk)
        except RasPolicy.DoesNotExist:
            raise CommandError(f"There is no RAS policy with id {pk}.", returncode=2) from None

    # The text report: what a person reads, so client groups by their labels.

    def _line(self, text: str = "") -> None:
        self.stdout.write(text)

    def _print(self, out: dict) -> None:
        labels = dict(ClientGroup.choices)
        self._line(f"Sample: {out['sample']}, {out['cases']} cases")
        self._line(f"Method: {METHOD_NAMES.get(out['method'], 'Section weights')}")
        if out["policy"]:
            rule = " (with its transitional rule)" if out["transitional"] else ""
            self._line(f"As this policy would pay{rule}: {out['policy']}")
        report = out["report"]
        if report is not None:
            self._line(f"Price per point: £{_four(out['price_per_point'])}")
            if out["intercept"] is not None:
                self._line(f"Intercept: £{_four(out['intercept'])} a week")
            if report["fit"]["excluded_zero_points"]:
                left = report["fit"]["excluded_zero_points"]
                self._line(f"Cases with no points left out: {left}")
            self._table("Overall", {"All cases": report["overall"]})
            by_group = {labels.get(k, k): v for k, v in report["by_group"].items()}
            self._table("By client group", by_group)
            self._table("By band of points", report["by_band"])
        if out["weights"] is not None:
            self._weights(out["weights"])
        if out["scale_up"] is not None:
            self._scale_up(out["scale_up"], labels)
        if out["affordability"] is not None:
            self._affordability(out["affordability"])
        if out["sensitivity"] is not None:
            self._line()
            if "error" in out["sensitivity"]:
                self._line(f"Sensitivity: {out['sensitivity']['error']}")
            else:
                self._line(f"Sensitivity under {out['sensitivity']['policy']}")
                self._sensitivity(out["sensitivity"]["rows"], out["sensitivity"]["scaled"])

    def _table(self, title: str, rows: dict) -> None:
        self._line()
        self._line(title)
        width = max([len(label) for label in rows] + [12])
        self._line(" ".join([" " * width, *(f"{head:>13}" for _, head in STATS)]))
        for label, stats in rows.items():
            cells = [
                f"{stats[key]:>13}" if key in ("n", "fewer", "more") else f"{_four(stats[key]):>13}"
                for key, _ in STATS
            ]
            self._line(" ".join([f"{label:<{width}}", *cells]))

    def _weights(self, weights: dict) -> None:
        self._line()
        self._line("Suggested £ a point by section")
        for code, weight in weights["weights"].items():
            self._line(f"  {code}: £{_four(weight)}")
        self._line(
            f"R² in sample {_four(weights['in_sample_r2'])}, out of sample "
            f"{_four(weights['out_of_sample_r2'])} ({weights['folds']} folds, seed "
            f"{weights['seed']}); within ±20% in sample {_four(weights['in_sample_within_20'])}, "
            f"out of sample {_four(weights['out_of_sample_within_20'])}"
        )
        self._line(
            f"One price through the origin, on the same folds: R² in sample "
            f"{_four(weights['single_in_sample_r2'])}, out of sample "
            f"{_four(weights['single_out_of_sample_r2'])}; within ±20% in sample "
            f"{_four(weights['single_in_sample_within_20'])}, out of sample "
            f"{_four(weights['single_out_of_sample_within_20'])}"
        )
        for finding in weights["findings"]:
            self._line(f"- {finding}")

    def _scale_up(self, scale_up: dict, labels: dict) -> None:
        self._line()
        self._line("Scaled to the live caseload (people with a current indicative budget)")
        for row in scale_up["groups"]:
            self._line(
                f"  {labels.get(row['client_group'], row['client_group'])}: "
                f"{row['sample_n']} in the sample, {row['caseload_n']} in the caseload, "
                f"weight {_four(row['weight'])}"
            )
        self._line(
            f"Current weekly cost: £{scale_up['sample_current_weekly']} in the sample, "
            f"£{scale_up['projected_current_weekly']} projected for the caseload"
        )

    def _affordability(self, solved: dict) -> None:
        self._line()
        if "error" in solved:
            self._line(f"Affordability: {solved['error']}")
            return
        whose = "the caseload's projected" if solved["scaled"] else "the sample's"
        self._line(
            f"Affordability under {solved['policy']}: £{_four(solved['price_per_point'])} a point "
            f"gives {whose} total of £{solved['total_weekly']} a week against a budget of "
            f"£{solved['budget_weekly']}"
        )
        self._sensitivity(solved["sensitivity"], solved["scaled"])

    def _sensitivity(self, rows: list[dict], scaled: bool) -> None:
        heads = ["Price/point", "Weekly", "Annual", "Contingency", "±20%", "Get less"]
        if scaled:
            heads += ["Caseload wk", "Caseload yr", "Caseload cont."]
        self._line(" ".join(f"{head:>14}" for head in heads))
        for row in rows:
            cells = [
                _four(row["price"]),
                row["total_weekly"],
                row["total_annual"],
                row["contingency_weekly"],
                _four(row["within_20"]),
                row["fewer"],
            ]
            if scaled:
                cells += [
                    row["projected_weekly"],
                    row["projected_annual"],
                    row["projected_contingency_weekly"],
                ]
            self._line(" ".join(f"{cell:>14}" for cell in cells))


def _dumps(out: dict) -> str:
    return json.dumps(out, indent=2, ensure_ascii=False)
