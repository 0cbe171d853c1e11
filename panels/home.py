"""Each user's home, "My work" (panels:my_work): the boxes their roles call for, and the count
of what waits for them shown beside "My work" in the menu.

Panels is the top app, so the home is composed here from all three apps' reads (HOUSE STYLE
§2b: panels may import allocations and assessments, never the reverse). A box is a `Box`: what
it lists for a user (None when it is not for them) and, when it counts in the menu, the
unevaluated queryset of what waits. The menu's count is one query however many boxes count
(`waiting_count`); the page's queries do not grow with the number of things listed.

A box is shown when it is part of the user's role (`primary`), or when it has something in it:
a team manager who writes no plans sees no empty "Plans returned to me"; a user with several
roles sees each role's boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from allocations.models import IndicativeBudget, LetterBatch, RasPolicy, SupportPlan
from allocations.permissions import (
    BATCH_RUN,
    BUDGET_DECIDE,
    PLAN_ADD,
    PLAN_AUTHORISE,
    PLAN_CHANGE,
    POLICY_APPROVE,
    POLICY_CHANGE,
    REPORT_PACK_VIEW,
    REPORTS_VIEW,
    REVIEW_START,
)
from allocations.reports.pipeline import STAGES, pipeline_summary
from allocations.reports.scope import report_scope_for_user
from allocations.selectors.budgets import agreed_awaiting_decision, budgets_awaiting_decision
from allocations.selectors.report_packs import report_pack_list
from allocations.selectors.reviews import reviews_due, reviews_due_queryset, reviews_open
from assessments.models import (
    AnswerOption,
    Assessment,
    PersonAccess,
    Question,
    QuestionnaireVersion,
    Section,
    User,
)
from assessments.roles import (
    ACCESS_LOG_VIEW,
    ASSESSMENT_ADD,
    PEOPLE_ALL_TEAMS,
    QUESTIONNAIRE_CHANGE,
    QUESTIONNAIRE_PUBLISH,
)
from assessments.selectors.people import people_visible_to
from assessments.views.people import record_shown
from panels.models import PanelDecision, PanelMeeting, PanelReferral
from panels.permissions import MEETING_ADD, PANEL_VIEW
from ras_site.compiled import fetch, user_key

# How many of a long list a box shows (oldest first); the rest are a link away.
BOX_LIMIT = 20
RECENT_LIMIT = 5


@dataclass(frozen=True)
class Box:
    """One box of the home. `items(user)` is the box's context, or None when the box is not
    for this user; `primary(user)` says the box belongs to the user's role and is shown even
    when empty; `waiting(user)` is what in it waits for the user (counted in the menu)."""

    slug: str
    items: Callable[[Any], dict | None]
    primary: Callable[[Any], bool] = lambda user: True
    waiting: Callable[[Any], QuerySet | None] | None = None

    @property
    def template(self) -> str:
        return f"panels/home/{self.slug.replace('-', '_')}.html"


def _box_rows(name: str, build: Callable[[], QuerySet], user) -> list:
    """The first BOX_LIMIT of a box's list (the queryset `build()` returns), its SQL built and
    compiled once a day for each user (ras_site.compiled): the boxes' queries cost more to
    build and compile than to answer."""
    return fetch(lambda: build()[:BOX_LIMIT], (f"home-{name}", BOX_LIMIT, *user_key(user)))


def _is_empty(context: dict) -> bool:
    return not any(context.values())


# --- A team manager -------------------------------------------------------------------------


def _manages_a_team(user) -> bool:
    return user.has_perm(PLAN_AUTHORISE) and user.team_id is not None


def caseload_items(user) -> dict | None:
    """The manager's team by pipeline stage (allocations.reports.pipeline: each person once,
    in their furthest stage), with the people longest in each stage first."""
    if not (_manages_a_team(user) and user.has_perm(REPORTS_VIEW)):
        return None
    today = timezone.localdate()
    scope = report_scope_for_user(user, start=today.replace(day=1), end=today)
    summary, as_at = pipeline_summary(scope)
    stages = [(stage, *summary[stage.slug]) for stage in STAGES]
    return {"stages": stages, "as_at": as_at, "caseload": any(n for _, n, _ in stages)}


def plans_to_authorise(user) -> QuerySet[SupportPlan]:
    """Plans of the manager's team waiting for authorisation by someone who did not write them."""
    if not user.has_perm(PLAN_AUTHORISE):
        return SupportPlan.objects.none()
    return (
        SupportPlan.objects.filter(
            status=SupportPlan.Status.AWAITING_AUTHORISATION,
            person__in=people_visible_to(user),
        )
        .exclude(created_by=user)
        .exclude(submitted_by=user)
        .select_related("person", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def to_authorise_items(user) -> dict | None:
    if not user.has_perm(PLAN_AUTHORISE):
        return None
    return {"to_authorise": _box_rows("to-authorise", lambda: plans_to_authorise(user), user)}


def lower_figures_items(user) -> dict | None:
    """Lower indicative and agreed figures waiting for this manager's decision (the
    allocations:decisions page decides them)."""
    if not user.has_perm(BUDGET_DECIDE):
        return None
    return {
        "lower_indicative": _box_rows(
            "lower-indicative", lambda: budgets_awaiting_decision(user=user), user
        ),
        "lower_agreed": _box_rows(
            "lower-agreed", lambda: agreed_awaiting_decision(user=user), user
        ),
    }


# --- A social worker ------------------------------------------------------------------------


def _writes_plans(user) -> bool:
    """A worker's casework is their role's home; a manager sees it only when it has items."""
    return user.has_perm(PLAN_CHANGE) and not user.has_perm(PLAN_AUTHORISE)


def assessments_in_progress(user) -> QuerySet[Assessment]:
    """Draft assessments the user started, or of their team's people, oldest first."""
    if not user.has_perm(ASSESSMENT_ADD):
        return Assessment.objects.none()
    mine = Q(started_by=user)
    if user.team_id is not None:
        mine |= Q(person__team_id=user.team_id)
    return (
        Assessment.objects.filter(mine, status=Assessment.Status.DRAFT)
        .filter(person__in=people_visible_to(user))
        .select_related("person", "started_by")
        .order_by("started_at", "pk")
    )


def assessments_items(user) -> dict | None:
    if not user.has_perm(ASSESSMENT_ADD):
        return None
    return {"assessments": _box_rows("assessments", lambda: assessments_in_progress(user), user)}


def _my_drafts(user) -> QuerySet[Assessment]:
    return assessments_in_progress(user).filter(started_by=user)


def plans_returned(user) -> QuerySet[SupportPlan]:
    """Plans the user wrote or submitted that a manager or the panel returned to them."""
    if not user.has_perm(PLAN_CHANGE):
        return SupportPlan.objects.none()
    return (
        SupportPlan.objects.filter(
            Q(created_by=user) | Q(submitted_by=user), status=SupportPlan.Status.RETURNED
        )
        .select_related("person", "decided_by")
        .order_by("decided_at", "pk")
    )


def returned_items(user) -> dict | None:
    if not user.has_perm(PLAN_CHANGE):
        return None
    return {"returned": _box_rows("returned", lambda: plans_returned(user), user)}


def budgets_without_plan(user) -> QuerySet[IndicativeBudget]:
    """Current indicative budgets of the user's team with no plan (none open, none agreed):
    each waits for a support plan to be written. Oldest first."""
    if not user.has_perm(PLAN_ADD) or user.team_id is None:
        return IndicativeBudget.objects.none()
    planned = SupportPlan.objects.filter(indicative_budget=OuterRef("pk")).exclude(
        status=SupportPlan.Status.CLOSED
    )
    return (
        IndicativeBudget.objects.filter(
            status=IndicativeBudget.Status.CURRENT, person__team_id=user.team_id
        )
        .filter(~Exists(planned))
        .select_related("person")
        .order_by("created_at", "pk")
    )


def _my_budgets_waiting(user) -> QuerySet[IndicativeBudget]:
    """What the menu counts of budgets_without_plan: those from the user's own assessments
    (the box lists the team's). A team's thousands of budgets are not each this user's to
    plan, and counting them all cost every page a scan of the team's budgets."""
    return budgets_without_plan(user).filter(assessment__started_by=user)


def plans_in_progress(user) -> QuerySet[SupportPlan]:
    """Plans being written for the user's team's people, oldest first."""
    if not user.has_perm(PLAN_ADD) or user.team_id is None:
        return SupportPlan.objects.none()
    return (
        SupportPlan.objects.filter(status=SupportPlan.Status.DRAFT, person__team_id=user.team_id)
        .select_related("person", "created_by")
        .order_by("created_at", "pk")
    )


def budgets_items(user) -> dict | None:
    if not user.has_perm(PLAN_ADD):
        return None
    return {
        "without_plan": _box_rows("without-plan", lambda: budgets_without_plan(user), user),
        "plans_in_progress": _box_rows("plans-in-progress", lambda: plans_in_progress(user), user),
    }


def reviews_items(user) -> dict | None:
    if not user.has_perm(REVIEW_START):
        return None
    # Like every box, the oldest BOX_LIMIT: a team can have hundreds of reviews due.
    return {
        "reviews_due": reviews_due(user=user, limit=BOX_LIMIT),
        "reviews_open": reviews_open(user=user, limit=BOX_LIMIT),
    }


def _reviews_waiting(user) -> QuerySet:
    return reviews_due_queryset(user=user)


def decisions_items(user) -> dict | None:
    """Recent decisions on the plans the user wrote or submitted: the panel's, and plans
    agreed by a team manager."""
    if not user.has_perm(PLAN_CHANGE):
        return None

    def decisions():
        return (
            PanelDecision.objects.filter(
                Q(referral__plan__created_by=user) | Q(referral__plan__submitted_by=user)
            )
            .select_related("referral__plan__person", "decided_by")
            .order_by("-decided_at")
        )

    def agreed():
        return (
            SupportPlan.objects.filter(
                Q(created_by=user) | Q(submitted_by=user), status=SupportPlan.Status.AGREED
            )
            .select_related("person", "decided_by")
            .order_by("-decided_at")
        )

    return {
        "decisions": _box_rows("decisions", decisions, user),
        "agreed": _box_rows("agreed", agreed, user),
    }


# --- The panel ------------------------------------------------------------------------------


def _sits_on_panel(user) -> bool:
    """Panel members and chairs read the panel's work without reading every team's people;
    a whole-service role (senior manager, auditor) sees the box only if they sit on a meeting."""
    return user.has_perm(PANEL_VIEW) and (
        not user.has_perm(PEOPLE_ALL_TEAMS) or user.has_perm(MEETING_ADD)
    )


def _upcoming_meetings(user) -> QuerySet[PanelMeeting]:
    today = timezone.localdate()
    return PanelMeeting.objects.filter(
        Q(chair=user) | Q(members=user) | Q(created_by=user),
        date__gte=today,
        cancelled_at__isnull=True,
    )


def agenda_items(user) -> dict | None:
    """The user's coming meetings, soonest first, with their agendas; for a chair, the
    referrals still waiting for a meeting."""
    if not user.has_perm(PANEL_VIEW):
        return None
    meetings = (
        PanelMeeting.objects.filter(pk__in=_upcoming_meetings(user).values("pk"))
        .select_related("chair")
        .prefetch_related("referrals__plan__person")
        .order_by("date", "time", "pk")[:RECENT_LIMIT]
    )
    unscheduled = []
    if user.has_perm(MEETING_ADD):
        unscheduled = list(
            PanelReferral.objects.filter(meeting__isnull=True, status=PanelReferral.Status.WAITING)
            .select_related("plan__person")
            .order_by("referred_at", "pk")[:BOX_LIMIT]
        )
    return {"agenda": list(meetings), "unscheduled": unscheduled}


def _agenda_waiting(user) -> QuerySet | None:
    """Referrals waiting for a decision on the coming meetings of a panel member or chair."""
    if not _sits_on_panel(user):
        return None
    return PanelReferral.objects.filter(
        meeting__in=_upcoming_meetings(user).values("pk"), status=PanelReferral.Status.WAITING
    )


def _unscheduled_waiting(user) -> QuerySet | None:
    if not (user.has_perm(PANEL_VIEW) and user.has_perm(MEETING_ADD)):
        return None
    return PanelReferral.objects.filter(meeting__isnull=True, status=PanelReferral.Status.WAITING)


# --- RAS administrators and senior managers: four eyes --------------------------------------


def _questionnaire_touches(user) -> list[Exists]:
    """The queryset form of assessments.services.questionnaires.questionnaire_touched_by
    (besides the creator): a history row by `user` of the version, or of any of its sections,
    questions (including those since moved) and options. Each is an Exists on the version."""
    by_user = {"history_user": user}

    def sections(depth: int) -> QuerySet:
        version = OuterRef("pk")
        for _ in range(depth):
            version = OuterRef(version)
        return Section.history.filter(version_id=version).values("id")

    def questions(depth: int) -> Q:
        version = OuterRef("pk")
        for _ in range(depth - 1):
            version = OuterRef(version)
        return Q(version_id=version) | Q(section_id__in=sections(depth))

    return [
        Exists(QuestionnaireVersion.history.filter(id=OuterRef("pk"), **by_user)),
        Exists(Section.history.filter(version_id=OuterRef("pk"), **by_user)),
        Exists(Question.history.filter(questions(1), **by_user)),
        Exists(
            AnswerOption.history.filter(
                question_id__in=Question.history.filter(questions(2)).values("id"), **by_user
            )
        ),
    ]


def _policy_touches(user) -> list[Exists]:
    """The queryset form of allocations.selectors.policies.policy_authors (besides the creator
    and last editor): a history row of the version by `user`."""
    return [Exists(RasPolicy.history.filter(id=OuterRef("pk"), history_user=user))]


def _drafts(model, user, touches: list[Exists], *, authors: tuple[str, ...]) -> list:
    """`model`'s drafts, oldest first, each with `touched`: the user wrote or edited it, so
    someone else must approve it."""
    checks = {f"touch{i}": check for i, check in enumerate(touches)}
    drafts = list(
        model.objects.filter(status=model.Status.DRAFT)
        .annotate(**checks)
        .select_related("created_by")
        .order_by("created_at", "pk")[:BOX_LIMIT]
    )
    for draft in drafts:
        draft.touched = any(getattr(draft, name) for name in checks) or user.pk in {
            getattr(draft, f"{field}_id") for field in authors
        }
    return drafts


def _approvable(model, user, touches: list[Exists], *, authors: tuple[str, ...]) -> QuerySet:
    """`model`'s drafts that `user` did not write or edit: theirs to approve."""
    drafts = model.objects.filter(status=model.Status.DRAFT)
    for field in authors:
        drafts = drafts.exclude(**{field: user})
    return drafts.filter(*[~check for check in touches])


_QUESTIONNAIRE_AUTHORS = ("created_by",)
_POLICY_AUTHORS = ("created_by", "updated_by")


def _reads_drafts(user) -> bool:
    return any(
        user.has_perm(p)
        for p in (QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH, POLICY_CHANGE, POLICY_APPROVE)
    )


def drafts_items(user) -> dict | None:
    """Questionnaire and RAS policy drafts: the ones the user may approve (four eyes), and
    the user's own, waiting for someone else."""
    if not _reads_drafts(user):
        return None
    questionnaires = policies = []
    if user.has_perm(QUESTIONNAIRE_CHANGE) or user.has_perm(QUESTIONNAIRE_PUBLISH):
        questionnaires = _drafts(
            QuestionnaireVersion,
            user,
            _questionnaire_touches(user),
            authors=_QUESTIONNAIRE_AUTHORS,
        )
    if user.has_perm(POLICY_CHANGE) or user.has_perm(POLICY_APPROVE):
        policies = _drafts(RasPolicy, user, _policy_touches(user), authors=_POLICY_AUTHORS)
    return {
        "questionnaire_drafts": questionnaires,
        "policy_drafts": policies,
        "can_publish": user.has_perm(QUESTIONNAIRE_PUBLISH),
        "can_approve": user.has_perm(POLICY_APPROVE),
    }


def questionnaires_to_publish(user) -> QuerySet | None:
    if not user.has_perm(QUESTIONNAIRE_PUBLISH):
        return None
    return _approvable(
        QuestionnaireVersion, user, _questionnaire_touches(user), authors=_QUESTIONNAIRE_AUTHORS
    )


def policies_to_approve(user) -> QuerySet | None:
    if not user.has_perm(POLICY_APPROVE):
        return None
    return _approvable(RasPolicy, user, _policy_touches(user), authors=_POLICY_AUTHORS)


# --- Senior managers, RAS administrators and auditors: the service as a whole -----------------


def reports_items(user) -> dict | None:
    """The reports dashboard, the latest members' packs and the user's letter batches, for the
    roles that read every team's reports (a team manager's caseload box links to theirs)."""
    if not (user.has_perm(REPORTS_VIEW) and user.has_perm(PEOPLE_ALL_TEAMS)):
        return None
    packs = (
        list(report_pack_list(user=user)[:RECENT_LIMIT]) if user.has_perm(REPORT_PACK_VIEW) else []
    )
    batches = (
        list(LetterBatch.objects.filter(created_by=user).order_by("-created_at")[:RECENT_LIMIT])
        if user.has_perm(BATCH_RUN)
        else []
    )
    return {
        "packs": packs,
        "batches": batches,
        "can_see_packs": user.has_perm(REPORT_PACK_VIEW),
        "can_run_batches": user.has_perm(BATCH_RUN),
    }


def records_items(user) -> dict | None:
    """The auditor's search across records and the access log."""
    if not user.has_perm(ACCESS_LOG_VIEW):
        return None
    return {"records": True}


# --- The home -------------------------------------------------------------------------------

BOXES: tuple[Box, ...] = (
    Box("caseload", caseload_items),
    Box("to-authorise", to_authorise_items, waiting=plans_to_authorise),
    Box(
        "lower-figures",
        lower_figures_items,
        waiting=lambda user: budgets_awaiting_decision(user=user),
    ),
    Box("assessments", assessments_items, waiting=_my_drafts),
    Box("returned", returned_items, primary=_writes_plans, waiting=plans_returned),
    Box("budgets-waiting", budgets_items, primary=_writes_plans, waiting=_my_budgets_waiting),
    Box("reviews", reviews_items, waiting=_reviews_waiting),
    Box("decisions", decisions_items, primary=_writes_plans),
    Box("agenda", agenda_items, primary=_sits_on_panel, waiting=_agenda_waiting),
    Box("drafts", drafts_items, waiting=questionnaires_to_publish),
    Box("reports", reports_items),
    Box("records", records_items),
)
# What else counts in the menu, beside the boxes' own `waiting`: the lower agreed budgets (in
# the lower-figures box), the referrals a chair has still to put on an agenda (in the agenda
# box) and the policy drafts to approve (in the drafts box).
EXTRA_WAITING: tuple[Callable[[Any], QuerySet | None], ...] = (
    lambda user: agreed_awaiting_decision(user=user),
    _unscheduled_waiting,
    policies_to_approve,
)


def home_boxes(request) -> list[str]:
    """The HTML of each box for the user, in BOXES order."""
    user = request.user
    html, shown = [], []
    for box in BOXES:
        context = box.items(user)
        if context is None or (_is_empty(context) and not box.primary(user)):
            continue
        html.append(render_to_string(box.template, {**context, "box": box}, request=request))
        shown.append(context)
    # Each person the boxes name is logged as shown on My work, in one INSERT.
    record_shown(request, shown, PersonAccess.Page.MY_WORK)
    return html


class _CountOf(Subquery):
    """How many rows a queryset has, as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS waiting)"
    output_field = IntegerField()


def waiting_querysets(user) -> list[QuerySet]:
    """What waits for the user, one queryset per kind of thing (none that is certainly empty)."""
    found = [box.waiting(user) for box in BOXES if box.waiting is not None]
    found += [waiting(user) for waiting in EXTRA_WAITING]
    return [qs for qs in found if qs is not None and not qs.query.is_empty()]


def waiting_count_queryset(user) -> QuerySet | None:
    """The menu's count for `user` as a one-row values_list queryset; None when nothing can
    wait for the user's roles. Building it reads nothing from the database."""
    querysets = waiting_querysets(user)
    if not querysets:
        return None
    counts = {
        f"waiting_{i}": _CountOf(qs.order_by().values("pk")) for i, qs in enumerate(querysets)
    }
    return User.objects.filter(pk=user.pk).annotate(**counts).values_list(*counts)


def waiting_count(user) -> int:
    """How many things wait for the user: the menu's count. One query (none when nothing can
    wait for the user's roles), once the user's permissions are loaded; compiled once a day
    for each user (ras_site.compiled: building and compiling its half-dozen subqueries costs
    more Python than PostgreSQL spends answering them)."""
    if not user.is_authenticated:
        return 0
    rows = fetch(lambda: waiting_count_queryset(user), ("waiting_count", *user_key(user)))
    # A subquery Django knows to be empty (e.g. no one visible) reads as NULL: none waiting.
    return sum(count or 0 for count in (rows[0] if rows else ()))
