"""The panel decision letter, added to the kinds of letter allocations can issue (registered
in PanelsConfig.ready: allocations never imports panels)."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet

from allocations.letters.kinds import LetterContent, NothingToIssue, register_letter_kind
from allocations.models import Letter
from assessments.models import Person
from panels.models import PanelDecision


def panel_decision_letter(person: Person, source_id: int | None) -> LetterContent:
    decisions = PanelDecision.objects.select_related(
        "referral__plan", "decided_by", "referral__meeting"
    ).filter(referral__plan__person=person)
    decision = (
        decisions.filter(pk=source_id).first()
        if source_id
        else decisions.order_by("-decided_at").first()
    )
    if decision is None:
        raise NothingToIssue(f"The panel has made no decision about {person.full_name}.")
    return LetterContent(
        template="panels/letters/decision.html",
        title=f"The panel's decision on your support plan – {person.reference}",
        context={"decision": decision},
        figures={
            "outcome": decision.outcome,
            "reasons": decision.reasons,
            "conditions": decision.conditions,
            "information_needed": decision.information_needed,
            "review_date": decision.review_date.isoformat() if decision.review_date else None,
            "decided_at": decision.decided_at.isoformat(),
            "meeting_date": decision.referral.meeting.date.isoformat(),
        },
        source_id=decision.pk,
    )


def panel_decision_people(people: QuerySet, since: datetime.date | None) -> QuerySet:
    """Those of `people` the panel has decided about (a batch of decision letters), optionally
    only those with a decision made on or after `since`."""
    decisions = PanelDecision.objects.all()
    if since is not None:
        decisions = decisions.filter(decided_at__date__gte=since)
    return people.filter(pk__in=decisions.values("referral__plan__person"))


def register() -> None:
    register_letter_kind(
        Letter.Kind.PANEL_DECISION,
        panel_decision_letter,
        label="Panel decision letters (people with a panel decision)",
        people=panel_decision_people,
        description="Panel decision letters",
        since_text="decisions made",
    )
