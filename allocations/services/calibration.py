"""Writes for calibration (issue 11): loading a sample from a file or the live caseload,
fitting it (the report kept as data in a `CalibrationRun`), and adopting a fitted price as a
draft policy version, or section weights as a draft questionnaire version with re-scaled
points, which a second person approves or publishes as any draft is (four eyes).

The arithmetic is pure and lives apart, in `allocations/calibration/` (samples, fitting,
weights, affordability); this module only reads, calls it and saves. Every service checks
CALIBRATION_RUN, runs in a transaction and records who did it (the sample's and the run's
history rows name the actor; a sample's cases are bulk-created and never change).
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from allocations.adapter import engine_policy
from allocations.calibration.affordability import (
    BudgetImpossible,
    projected_weekly,
    sample_total,
    scale_up,
    sensitivity,
    solve_price,
)
from allocations.calibration.fitting import (
    METHODS,
    Fit,
    differences_by_group_and_band,
    fit_price,
    fit_report,
    fitted_allocation,
    policy_allocator,
)
from allocations.calibration.samples import SampleCase, read_sample
from allocations.calibration.weights import fit_weights
from allocations.engine import round2
from allocations.models import CalibrationCase, CalibrationRun, CalibrationSample, RasPolicy
from allocations.permissions import CALIBRATION_RUN
from allocations.selectors.calibration import caseload_counts
from allocations.selectors.policies import policy_in_force_on
from allocations.services.policies import POLICY_FIELDS, policy_create_draft
from assessments.models import Answer, Assessment, ClientGroup, QuestionnaireVersion, User
from assessments.services.history import save_as
from assessments.services.questionnaires import (
    QuestionnaireInvalid,
    questionnaire_export,
    questionnaire_import,
)

NOT_CALIBRATOR = "Only RAS administrators and senior managers calibrate the RAS."
NO_CASES = "The live caseload has no one with a submitted assessment and a current package cost."
NO_POLICY = "There is no policy in force to copy: choose the policy to adopt the price into."
MAX_SENSITIVITY_PRICES = 41
TOO_MANY_PRICES = (
    f"A sensitivity table has from 1 to {MAX_SENSITIVITY_PRICES} prices: widen the step."
)
NEGATIVE_PRICE = "A price per point cannot be negative."
NO_POLICY_TO_SOLVE = (
    "There is no policy in force: choose the policy whose rules the budget is to be met under."
)
UNKNOWN_METHOD = "Choose a fitting method: {methods}."
NOT_IN_RUN = "This run has no price for that method."
NO_WEIGHTS = (
    "This run has no section weights to adopt: fit the sample by section weights "
    "(or every method) first."
)
NO_QUESTIONNAIRE = "There is no published questionnaire to copy the re-scaled points into."
NO_SECTION_IN_COMMON = (
    "None of the published questionnaire's sections has a weight in this run: the sample's "
    "points_<section> columns must use the questionnaire's section codes."
)
NO_CASELOAD = "No one has a current indicative budget: there is no caseload to scale the sample to."
NO_REFERENCE_PRICE = (
    "The sample's single price is £0 a point, so the weights cannot be turned into points."
)
ALL = "all"
WEIGHTS = "weights"
# Adopting the price the affordability solver found, rather than a fitted one.
AFFORDABLE = "affordability"


def _check(actor: User) -> None:
    if not actor.has_perm(CALIBRATION_RUN):
        raise PermissionDenied(NOT_CALIBRATOR)


def _save_sample(
    *, actor: User, name: str, source: str, filename: str, cases: list[SampleCase]
) -> CalibrationSample:
    sample = CalibrationSample(
        name=name, source=source, filename=filename, row_count=len(cases), created_by=actor
    )
    sample.full_clean(exclude=["created_by"])
    save_as(sample, actor)
    # The cases are immutable and have no history of their own: one bulk insert.
    CalibrationCase.objects.bulk_create(
        (
            CalibrationCase(
                sample=sample,
                row=row,
                reference=case.reference,
                client_group=case.client_group,
                points=case.points,
                weekly_cost_gbp=case.weekly_cost,
                age_band=case.age_band,
                team=case.team,
                section_points={k: str(v) for k, v in case.section_points.items()},
            )
            for row, case in enumerate(cases, start=1)
        ),
        batch_size=2000,
    )
    return sample


@transaction.atomic
def sample_load(*, actor: User, name: str, data: bytes, filename: str) -> CalibrationSample:
    """A sample from a CSV or XLSX file (header `reference,client_group,points,weekly_cost`,
    optional `age_band`, `team`, `points_<section>`). A file with any bad row raises
    `SampleInvalid` (its `.errors` name each row and field) and nothing is saved."""
    _check(actor)
    cases = read_sample(data, filename, client_groups=ClientGroup.values)
    return _save_sample(
        actor=actor, name=name, source=CalibrationSample.Source.FILE, filename=filename, cases=cases
    )


def caseload_cases() -> list[SampleCase]:
    """Everyone with a submitted assessment and a current package cost, as sample cases: the
    points of each answer summed by the section of its question (two queries, whatever the
    caseload's size)."""
    submitted = Assessment.objects.filter(
        status=Assessment.Status.SUBMITTED, person__existing_weekly_cost_gbp__isnull=False
    )
    assessments = submitted.order_by("person__reference").values_list(
        "id",
        "person__reference",
        "person__client_group",
        "person__team__name",
        "person__existing_weekly_cost_gbp",
    )
    by_section: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for assessment_id, section, total in (
        Answer.objects.filter(assessment__in=submitted)
        .values("assessment_id", "question__section__code")
        .annotate(total=Sum("option__points"))
        .values_list("assessment_id", "question__section__code", "total")
    ):
        by_section[assessment_id][section] = total
    return [
        SampleCase(
            reference=reference,
            client_group=group,
            points=sum(by_section[pk].values(), Decimal(0)),
            weekly_cost=cost,
            team=team,
            section_points=dict(sorted(by_section[pk].items())),
        )
        for pk, reference, group, team, cost in assessments
    ]


@transaction.atomic
def sample_from_caseload(*, actor: User, name: str) -> CalibrationSample:
    """A sample of the live caseload (see `caseload_cases`). Refused when it is empty."""
    _check(actor)
    cases = caseload_cases()
    if not cases:
        raise ValidationError(NO_CASES)
    return _save_sample(
        actor=actor, name=name, source=CalibrationSample.Source.CASELOAD, filename="", cases=cases
    )


def sample_cases(sample: CalibrationSample) -> list[SampleCase]:
    """A stored sample's cases, as the fitting code takes them."""
    return [
        SampleCase(
            reference=reference,
            client_group=group,
            points=points,
            weekly_cost=cost,
            age_band=age_band,
            team=team,
            section_points={k: Decimal(v) for k, v in sections.items()},
        )
        for reference, group, points, cost, age_band, team, sections in sample.cases.order_by(
            "row"
        ).values_list(
            "reference",
            "client_group",
            "points",
            "weekly_cost_gbp",
            "age_band",
            "team",
            "section_points",
        )
    ]


class _ReportEncoder(DjangoJSONEncoder):
    """Django's encoder (Decimals as strings, so no penny is lost to a float), and the
    fitting code's frozen dataclasses as objects."""

    def default(self, o):
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        if isinstance(o, Mapping):
            return dict(o)
        return super().default(o)


def as_data(value: Any) -> Any:
    """A report (dataclasses, mappings, Decimals) as the JSON data a run keeps."""
    return json.loads(json.dumps(value, cls=_ReportEncoder))


def _methods(method: str) -> Iterable[str]:
    choices = (*METHODS, WEIGHTS)
    if method == ALL:
        return choices
    if method not in choices:
        raise ValidationError(UNKNOWN_METHOD.format(methods=", ".join((*choices, ALL))))
    return (method,)


@transaction.atomic
def calibration_run(
    *,
    actor: User,
    sample: CalibrationSample,
    method: str,
    policy: RasPolicy | None = None,
    budget: Decimal | None = None,
    scale: bool = False,
    transitional: bool = False,
    prices: Sequence[Decimal] | None = None,
) -> CalibrationRun:
    """Fit `sample` by `method` (one of METHODS, "weights", or "all"), optionally "as
    `policy` would pay" and solving for a weekly `budget` under it; the report is stored as
    data in a new run naming who ran it, when, on which sample, policy and budget.

    With `scale`, each case is weighted to the live caseload (`scale_up` with the counts of
    people with a current indicative budget by client group): the weights and the projected
    weekly totals are kept under "scale_up", the budget is the whole caseload's (compared with
    the projected whole-caseload spend rather than the sample's) and the sensitivity rows are
    projected too. With `transitional` (and a policy), each case's current cost is its
    existing package, so the policy's transitional rule applies to what it would pay.
    ValidationError when nobody has a current budget or the caseload has a client group the
    sample has no case of. With `prices` (at most MAX_SENSITIVITY_PRICES), a sensitivity
    table at those prices under the policy (or the policy in force), budget or none."""
    _check(actor)
    counts = caseload_counts(user=actor) if scale else None
    results = calibration_report(
        sample_cases(sample),
        method=method,
        policy=policy,
        budget=budget,
        caseload=counts,
        transitional=transitional,
        prices=prices,
        section_titles=_section_titles(),
    )
    return save_as(
        CalibrationRun(
            sample=sample,
            method=method,
            policy=policy,
            budget_weekly_gbp=budget,
            results=results,
            created_by=actor,
        ),
        actor,
    )


def _section_titles() -> dict[str, str]:
    """{section code: title} of the questionnaire version published last (the one assessments
    use), so the weights and findings name sections as people know them."""
    version = (
        QuestionnaireVersion.objects.filter(status=QuestionnaireVersion.Status.PUBLISHED)
        .order_by("-number")
        .first()
    )
    if version is None:
        return {}
    return dict(version.sections.values_list("code", "title"))


def calibration_report(
    cases: list[SampleCase],
    *,
    method: str,
    policy: RasPolicy | None = None,
    budget: Decimal | None = None,
    caseload: Mapping[str, int] | None = None,
    transitional: bool = False,
    prices: Sequence[Decimal] | None = None,
    section_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report of a run as data (what `calibration_run` keeps, and `manage.py
    ras_calibrate` prints): each method's fit and statistics, the section weights, why a
    method could not be fitted, the differences the spread chart draws, the scale-up to
    `caseload` (people by client group) when given, and the affordability for `budget` —
    "as the policy would pay" with its transitional rule too when `transitional` (each case's
    current cost its existing package; kept under "transitional").
    `section_titles` ({code: title}) names the sections in the weights' findings.
    Saves nothing and checks no one: callers check. ValidationError as `calibration_run`."""
    methods = list(_methods(method))
    if prices is not None and not 0 < len(prices) <= MAX_SENSITIVITY_PRICES:
        raise ValidationError(TOO_MANY_PRICES)
    if prices is not None and any(price < 0 for price in prices):
        raise ValidationError(NEGATIVE_PRICE)
    weights = _scale(cases, caseload) if caseload is not None else None
    allocate = (
        policy_allocator(engine_policy(policy), transitional=transitional)
        if policy is not None
        else None
    )
    results: dict[str, Any] = {
        "methods": {},
        "weights": None,
        "unfitted": {},
        "transitional": transitional,
    }
    for name in methods:
        try:
            if name == WEIGHTS:
                titles = dict(section_titles or {})
                results["weights"] = {
                    **as_data(fit_weights(cases, titles=titles)),
                    **_rescaling(cases),
                    "section_titles": titles,
                }
            else:
                results["methods"][name] = as_data(fit_report(cases, name, allocate=allocate))
        except ValueError as unfit:
            # The sample cannot be fitted this way (no points by section, fewer cases than
            # folds…): refused when it was the one method asked for, said in the report when
            # it was one of every method.
            if method != ALL:
                raise ValidationError(str(unfit)) from None
            results["unfitted"][name] = str(unfit)
    results["spread"] = _spread(cases, method, results["methods"], allocate)
    if weights is not None:
        weights["by_method"] = _projected(cases, results["methods"], weights["weights"], allocate)
        results["scale_up"] = weights
    results["affordability"] = _affordability(
        cases, policy, budget, weights=weights and weights["weights"], transitional=transitional
    )
    if prices is not None:
        results["sensitivity"] = _sensitivity_range(
            cases, policy, prices, weights=weights and weights["weights"], transitional=transitional
        )
    return results


def _sensitivity_range(
    cases: list[SampleCase],
    policy: RasPolicy | None,
    prices: Sequence[Decimal],
    *,
    weights: Mapping[str, str] | None,
    transitional: bool,
) -> dict[str, Any]:
    """The sensitivity table at the prices asked for, under `policy` (the policy in force when
    none is chosen), each row projected to the caseload when `weights` are given."""
    rules = policy if policy is not None else policy_in_force_on(timezone.localdate())
    if rules is None:
        return {"error": NO_POLICY_TO_SOLVE}
    scale = {g: Decimal(w) for g, w in weights.items()} if weights is not None else None
    rows = sensitivity(
        cases, engine_policy(rules), list(prices), scale=scale, transitional=transitional
    )
    return {"policy": str(rules), "scaled": scale is not None, "rows": as_data(rows)}


def _rescaling(cases: list[SampleCase]) -> dict[str, Any]:
    """What adopting the weights would do, for the run page to say: the reference price (the
    sample's single price through the origin, as `calibration_adopt_weights` divides by) under
    "reference_price", or None when there is none (£0 or no points)."""
    try:
        reference = fit_price(cases, "origin").price_per_point
    except ValueError:
        return {"reference_price": None}
    return {"reference_price": str(reference) if reference else None}


def _projected(
    cases: list[SampleCase],
    reports: Mapping[str, Any],
    weights: Mapping[str, str],
    allocate: Callable[[SampleCase, Decimal], Decimal] | None,
) -> list[dict[str, str]]:
    """For each fitted price, the weekly spend of its allocations (as its statistics compared
    them): the sample's total and the caseload's projected by the scale-up weights."""
    scale = {group: Decimal(weight) for group, weight in weights.items()}
    rows = []
    for name in METHODS:
        if name not in reports:
            continue
        fitted = reports[name]["fit"]
        allocations = _allocations(cases, name, fitted, allocate)
        rows.append(
            {
                "method": name,
                "price_per_point": fitted["price_per_point"],
                "sample_weekly": str(round2(sum(allocations, Decimal(0)))),
                "projected_weekly": str(projected_weekly(cases, allocations, scale)),
            }
        )
    return rows


def _allocations(
    cases: list[SampleCase],
    name: str,
    fitted: Mapping[str, Any],
    allocate: Callable[[SampleCase, Decimal], Decimal] | None,
) -> list[Decimal]:
    """Each case's allocation at method `name`'s stored fit, as the run's statistics compared
    them: the fitted line, or what the policy would pay (`allocate`) at the fitted price."""
    fit = Fit(name, Decimal(fitted["price_per_point"]), Decimal(fitted["intercept"] or 0))
    if allocate is None:
        return [fitted_allocation(fit, case.points) for case in cases]
    return [allocate(case, fit.price_per_point) for case in cases]


def _spread(
    cases: list[SampleCase],
    method: str,
    reports: Mapping[str, Any],
    allocate: Callable[[SampleCase, Decimal], Decimal] | None,
) -> dict[str, Any] | None:
    """allocation − current cost of each case, by client group and by band of points, for the
    spread chart: under the run's own method, or (every method) the first fitted, ratio first;
    the allocations as the run's statistics compared them (the fitted line, or what the policy
    would pay at the fitted price). Kept with the run, so its pages never work them out again
    (and a draft policy changed later cannot change them). None when no price was fitted."""
    name = method if method in reports else next((m for m in METHODS if m in reports), None)
    if name is None:
        return None
    allocations = _allocations(cases, name, reports[name]["fit"], allocate)
    by_group, by_band = differences_by_group_and_band(cases, allocations)
    return {"method": name, "by_group": as_data(by_group), "by_band": as_data(by_band)}


def _scale(cases: list[SampleCase], counts: Mapping[str, int]) -> dict[str, Any]:
    """The scale-up of `cases` to the caseload's `counts` of people by client group, as data:
    a row per client group of the sample (its cases, the caseload's people, the weight =
    people ÷ cases, unrounded), the weights by group, and the sample's and the projected
    caseload's current weekly cost."""
    if not any(counts.values()):
        raise ValidationError(NO_CASELOAD)
    try:
        weights = scale_up(
            cases,
            {group: counts.get(group, 0) for group in ClientGroup.values},
            labels=dict(ClientGroup.choices),
        )
    except ValueError as unscalable:
        raise ValidationError(str(unscalable)) from None
    in_sample = defaultdict(int)
    for case in cases:
        in_sample[case.client_group] += 1
    costs = [case.weekly_cost for case in cases]
    return {
        "groups": [
            {
                "client_group": group,
                "sample_n": in_sample[group],
                "caseload_n": counts.get(group, 0),
                "weight": str(weight),
            }
            for group, weight in weights.items()
        ],
        "weights": {group: str(weight) for group, weight in weights.items()},
        "sample_current_weekly": str(round2(sum(costs, Decimal(0)))),
        "projected_current_weekly": str(projected_weekly(cases, costs, weights)),
    }


def _affordability(
    cases: list[SampleCase],
    policy: RasPolicy | None,
    budget: Decimal | None,
    *,
    weights: Mapping[str, str] | None = None,
    transitional: bool = False,
) -> dict | None:
    """The price per point at which the sample's indicative budgets under `policy` (the
    policy in force when none is chosen) total `budget` a week — each case × its group's
    scale-up weight when `weights` are given, i.e. the projected whole-caseload spend — the
    total it spends (and, scaled, the sample's own total at that price), and a sensitivity
    table of the sample at 80%–120% of that price (scaled, each row projected to the caseload
    too); or why no price does. None without a budget."""
    if budget is None:
        return None
    rules = policy if policy is not None else policy_in_force_on(timezone.localdate())
    if rules is None:
        return {"error": NO_POLICY_TO_SOLVE}
    engine_rules = engine_policy(rules)
    scale = {g: Decimal(w) for g, w in weights.items()} if weights is not None else Decimal(1)
    try:
        price = solve_price(cases, engine_rules, budget, scale=scale, transitional=transitional)
    except BudgetImpossible as impossible:
        return {
            "error": str(impossible),
            "lowest_total": str(impossible.lowest_total),
            "highest_total": str(impossible.highest_total),
        }
    prices = sorted({round2(price * Decimal(p) / 100) for p in (80, 90, 100, 110, 120)})
    return {
        "policy": str(rules),
        "budget_weekly": str(budget),
        "price_per_point": str(price),
        "scaled": weights is not None,
        "total_weekly": str(
            sample_total(cases, engine_rules, price, scale=scale, transitional=transitional)
        ),
        "sample_total_weekly": str(
            sample_total(cases, engine_rules, price, transitional=transitional)
        ),
        "sensitivity": as_data(
            sensitivity(
                cases,
                engine_rules,
                prices,
                scale=scale if weights is not None else None,
                transitional=transitional,
            )
        ),
    }


@transaction.atomic
def calibration_adopt_price(*, actor: User, run: CalibrationRun, method: str) -> RasPolicy:
    """A DRAFT policy version: the run's policy (or the policy in force) with the price per
    point `method` fitted (or, for AFFORDABLE, the price meeting the run's budget), rounded
    to the penny half up. Through `policy_create_draft`, so
    it is validated whole and a second person must approve it (four eyes)."""
    _check(actor)
    try:
        if method == AFFORDABLE:
            price = Decimal(run.results["affordability"]["price_per_point"])
        else:
            price = Decimal(run.results["methods"][method]["fit"]["price_per_point"])
    except (KeyError, TypeError):
        raise ValidationError(NOT_IN_RUN) from None
    base = run.policy or policy_in_force_on(timezone.localdate())
    if base is None:
        raise ValidationError(NO_POLICY)
    data = {name: getattr(base, name) for name in POLICY_FIELDS}
    data.update(
        name=f"{base.name[:70]} at £{round2(price)} a point ({method})",
        notes=(
            f"Price per point fitted by '{method}' on the sample '{run.sample.name}' "
            f"(calibration run {run.pk}, {run.created_at:%d %b %Y}); other settings copied "
            f"from {base}."
        ),
        price_per_point_gbp=round2(price),
        effective_from=max(timezone.localdate(), base.effective_from),
    )
    return policy_create_draft(actor=actor, data=data, permission=CALIBRATION_RUN)


@transaction.atomic
def calibration_adopt_weights(*, actor: User, run: CalibrationRun) -> QuestionnaireVersion:
    """A DRAFT questionnaire version: a copy of the published one in which every option's
    points in a section the run weighted are re-scaled so that a point there is worth what the
    fit says, relative to one reference price:

        new points = old points × (section weight ÷ reference price), rounded to 2 dp half up.

    The reference price is the sample's single price by least squares through the origin (the
    "origin" method, to 4 dp): the weights are fitted through the origin on the same cases, so
    it is their like-for-like single-price comparison (the one the run's findings use), and a
    policy at that price pays the new points at the fitted weights. Sections the run has no
    weight for keep their points (the notes name them).

    Made through assessments' `questionnaire_import` with CALIBRATION_RUN (as
    `calibration_adopt_price` passes it to `policy_create_draft`), so senior managers who
    calibrate may adopt too; it is validated whole, and someone who has not touched it must
    publish it (four eyes). The published version is not changed. ValidationError for a run
    without weights, no published questionnaire, no section in common or a £0 price;
    PermissionDenied without CALIBRATION_RUN."""
    _check(actor)
    weights = (run.results.get("weights") or {}).get("weights")
    if not weights:
        raise ValidationError(NO_WEIGHTS)
    published = QuestionnaireVersion.objects.filter(
        status=QuestionnaireVersion.Status.PUBLISHED
    ).first()
    if published is None:
        raise ValidationError(NO_QUESTIONNAIRE)
    try:
        reference = fit_price(sample_cases(run.sample), "origin").price_per_point
    except ValueError as unfit:
        raise ValidationError(str(unfit)) from None
    if reference == 0:
        raise ValidationError(NO_REFERENCE_PRICE)
    data = questionnaire_export(version=published)
    kept = []
    for section in data["sections"]:
        if section["code"] not in weights:
            kept.append(section["code"])
            continue
        factor = Decimal(weights[section["code"]]) / reference
        for question in section["questions"]:
            for option in question["options"]:
                option["points"] = str(round2(Decimal(option["points"]) * factor))
    if len(kept) == len(data["sections"]):
        raise ValidationError(NO_SECTION_IN_COMMON)
    data["notes"] = (
        f"Option points re-scaled from version {published.number} by the section weights of "
        f"calibration run {run.pk} on the sample '{run.sample.name}' "
        f"({run.created_at:%d %b %Y}): new points = old points × section weight ÷ "
        f"£{reference} (the sample's single price through the origin)."
        + (f" Sections without a weight, kept as they were: {', '.join(kept)}." if kept else "")
    )
    try:
        return questionnaire_import(actor=actor, data=data, permission=CALIBRATION_RUN)
    except QuestionnaireInvalid as invalid:
        errors = [f"{where}: {message}" for where, message in invalid.errors]
        raise ValidationError(errors) from None
