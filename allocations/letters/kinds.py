"""The kinds of letter, and the extension point for more.

Each kind is registered (below, or by panels for its decision letter) with a builder that
reads one stored record and returns the template, its context and the figures the letter
shows, and with what a batch of that kind needs: its label, whom it is for and how to describe
it."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from allocations.costing import agreed_managed, line_weekly_text
from allocations.models import AgreedBudget, IndicativeBudget, Letter
from allocations.selectors.budgets import budget_explanation, budget_triggers
from allocations.units import amount_text
from assessments.models import Person


class NothingToIssue(Exception):
    """There is no stored record of this kind to make the letter from."""


@dataclass(frozen=True)
class LetterContent:
    template: str
    title: str
    context: dict[str, Any]
    figures: dict[str, Any]  # what the letter shows, stored with it
    source_id: int


Builder = Callable[[Person, int | None], LetterContent]
# (people, since) -> those of them a batch of this kind is for; `since` (a date or None) is
# compared with the date the kind is about (calculated, agreed, decided).
PeopleFilter = Callable[[QuerySet, datetime.date | None], QuerySet]


@dataclass(frozen=True)
class LetterKind:
    """One kind of letter: how to make it, and whom a batch of it is for."""

    kind: str
    builder: Builder
    label: str  # the batch form's choice, e.g. "Indicative budget letters (people with …)"
    people: PeopleFilter
    description: str  # how a batch's description starts, e.g. "Indicative budget letters"
    since_text: str  # what the "since" date is about, e.g. "budgets calculated"


_kinds: dict[str, LetterKind] = {}


def register_letter_kind(
    kind: str,
    builder: Builder,
    *,
    label: str,
    people: PeopleFilter,
    description: str,
    since_text: str,
) -> None:
    """Add a kind of letter (allocations registers its two below; panels its decision letter
    in its AppConfig.ready, so allocations never imports panels)."""
    _kinds[kind] = LetterKind(kind, builder, label, people, description, since_text)


def letter_kind_choices() -> list[tuple[str, str]]:
    """The kinds a batch can make, in the order they were registered."""
    return [(k.kind, k.label) for k in _kinds.values()]


def letter_content(kind: str, person: Person, source_id: int | None = None) -> LetterContent:
    if kind not in _kinds:
        raise NothingToIssue(f"Unknown kind of letter: {kind}.")
    return _kinds[kind].builder(person, source_id)


# --- The two kinds allocations makes ----------------------------------------------------------


def _source(records, source_id: int | None):
    """The record named, or else the person's current one (None if there is none)."""
    return (records.filter(pk=source_id) if source_id else records.filter(status="current")).first()


def _indicative(person: Person, source_id: int | None) -> LetterContent:
    budget = _source(
        IndicativeBudget.objects.select_related("policy").filter(person=person), source_id
    )
    if budget is None:
        raise NothingToIssue(f"{person.full_name} has no indicative budget to write about.")
    explanation = budget_explanation(budget)
    return LetterContent(
        template="allocations/letters/indicative.html",
        title=f"Your indicative personal budget – {person.reference}",
        context={
            "budget": budget,
            "explanation": explanation,
            "triggers": budget_triggers(budget),
        },
        figures={
            "indicative_weekly": str(budget.indicative_weekly_gbp),
            "annual": str(budget.annual_gbp),
            "explanation": [[r.step, r.detail, r.amount] for r in explanation],
            "triggers": budget.triggers,
        },
        source_id=budget.pk,
    )


def _statement(person: Person, source_id: int | None) -> LetterContent:
    agreed = _source(AgreedBudget.objects.select_related("plan").filter(person=person), source_id)
    if agreed is None:
        raise NothingToIssue(f"{person.full_name} has no agreed personal budget yet.")
    # Each line's amount ("14 hours × £16.50"); how often is in its weekly equivalent.
    lines = [
        (line, amount_text(line.quantity, line.unit, line.unit_cost_gbp), line_weekly_text(line))
        for line in agreed.plan.lines.live()
    ]
    # The direct payment as the plan page states it: its share of the cost, and what is paid
    # to the person after their contribution.
    managed = agreed_managed(agreed)
    return LetterContent(
        template="allocations/letters/statement.html",
        title=f"Your personal budget statement – {person.reference}",
        context={"agreed": agreed, "lines": lines, "managed": managed},
        figures={
            "direct_payment_net_weekly_gbp": str(managed.direct_payment_net_weekly),
            "lines": [[amount, weekly] for _, amount, weekly in lines],
        }
        | {
            name: str(getattr(agreed, name))
            for name in (
                "weekly_gbp",
                "annual_gbp",
                "one_off_gbp",
                "contribution_weekly_gbp",
                "council_weekly_gbp",
                "direct_payment_weekly_gbp",
                "council_managed_weekly_gbp",
                "isf_weekly_gbp",
                "indicative_weekly_gbp",
                "review_date",
                "difference_reason",
                "conditions",
            )
        },
        source_id=agreed.pk,
    )


def _with_current_budget(people: QuerySet, since: datetime.date | None) -> QuerySet:
    budgets = IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
    if since is not None:
        budgets = budgets.filter(created_at__date__gte=since)
    return people.filter(pk__in=budgets.values("person_id"))


def _with_agreed_budget(people: QuerySet, since: datetime.date | None) -> QuerySet:
    agreed = AgreedBudget.objects.filter(status=AgreedBudget.Status.CURRENT)
    if since is not None:
        agreed = agreed.filter(agreed_at__date__gte=since)
    return people.filter(pk__in=agreed.values("person_id"))


register_letter_kind(
    Letter.Kind.INDICATIVE,
    _indicative,
    label="Indicative budget letters (people with a current indicative budget)",
    people=_with_current_budget,
    description="Indicative budget letters",
    since_text="budgets calculated",
)


register_letter_kind(
    Letter.Kind.STATEMENT,
    _statement,
    label="Personal budget statements (people with a current agreed budget)",
    people=_with_agreed_budget,
    description="Personal budget statements",
    since_text="budgets agreed",
)


def letter_batch_people(
    kind: str, people: QuerySet, since: datetime.date | None = None
) -> QuerySet:
    """Those of `people` a batch of this kind is for: who have the record the letter is made
    from, optionally only those whose record dates from `since` on (calculated for indicative
    budgets, agreed for statements, decided for panel decisions)."""
    return _kinds[kind].people(people, since)


def letter_batch_description(kind: str, *, team=None, since: datetime.date | None = None) -> str:
    """E.g. "Personal budget statements, North Locality Team, budgets agreed since 1 Apr
    2026"."""
    letter_kind = _kinds[kind]
    return (
        letter_kind.description
        + (f", {team}" if team else ", all teams")
        + (f", {letter_kind.since_text} since {since:%d %b %Y}" if since else "")
    )
