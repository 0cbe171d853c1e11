"""Pages of allocations: policies and the public rules page, indicative budgets and decisions on
lower figures, re-pricing, support plans and agreed budgets, letters and letter batches."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.adapter import engine_policy, example_case
from allocations.costing import line_weekly_text, plan_costs
from allocations.engine import calculate
from allocations.forms import (
    CommentsForm,
    LetterBatchForm,
    LowerFigureDecisionForm,
    NamedInformalSupportForm,
    PlanLineForm,
    PlanSettingsForm,
    PolicyForm,
    ReasonForm,
)
from allocations.letters.kinds import NothingToIssue, letter_batch_description, letter_batch_people
from allocations.models import (
    AgreedBudget,
    IndicativeBudget,
    Letter,
    LetterBatch,
    RasPolicy,
    SupportPlan,
)
from allocations.permissions import (
    BATCH_RUN,
    BUDGET_DECIDE,
    BUDGET_RECALCULATE,
    BUDGET_VIEW,
    LETTER_ISSUE,
    LETTER_VIEW,
    LETTER_WITHDRAW,
    PLAN_ADD,
    PLAN_AUTHORISE,
    PLAN_CHANGE,
    PLAN_VIEW,
    POLICY_ADD,
    POLICY_APPROVE,
    POLICY_CHANGE,
    POLICY_REPRICE,
)
from allocations.selectors.budgets import (
    agreed_awaiting_decision,
    agreed_get_for_user,
    basis_note,
    budget_explanation,
    budget_get_for_user,
    budget_triggers,
    budgets_awaiting_decision,
    budgets_for_person,
    gbp,
)
from allocations.selectors.letters import (
    batch_letters,
    batch_zip,
    letter_batch_get_for_user,
    letter_get_for_user,
)
from allocations.selectors.plans import (
    OPEN_STATUSES,
    eligible_needs,
    live_lines,
    plan_get_for_user,
    plan_history,
    plan_sections,
    wrote,
)
from allocations.selectors.policies import (
    policy_can_approve,
    policy_get_for_user,
    policy_in_force_on,
    policy_list,
)
from allocations.selectors.repricing import (
    repricing_csv,
    repricing_preview,
    repricing_refusal,
    repricing_run_get_for_user,
)
from allocations.services.budgets import NoPolicyInForce, budget_decide, budget_recalculate
from allocations.services.letter_batches import letter_batch_start
from allocations.services.letters import (
    LetterAlreadyWithdrawn,
    letter_already_issued_message,
    letter_issue,
    letter_withdraw,
)
from allocations.services.plans import (
    LOWER_AGREED,
    PlanIncomplete,
    PlanStateError,
    agreed_budget_decide,
    plan_authorise,
    plan_informal_add,
    plan_informal_remove,
    plan_line_add,
    plan_line_remove,
    plan_return,
    plan_start,
    plan_submit,
    plan_update,
)
from allocations.services.policies import (
    PolicyNotDraft,
    policy_approve,
    policy_copy_to_draft,
    policy_create_draft,
    policy_update_draft,
)
from allocations.services.repricing import repricing_start
from assessments.forms import add_service_errors
from assessments.models import Outcome, PersonAccess
from assessments.roles import PEOPLE_ALL_TEAMS
from assessments.selectors import object_history, people_visible_to, person_get_for_user
from assessments.services import person_access_record

# --- The public rules page ---------------------------------------------------------------------


@login_not_required
@require_http_methods(["GET"])
def rules_view(request):
    """The rules and rates in force today, and how a budget is worked out. No login needed:
    anyone may check how the council calculates budgets."""
    policy = policy_in_force_on(timezone.localdate())
    example = None
    if policy is not None:
        example = calculate(engine_policy(policy), example_case())
    return render(request, "allocations/rules.html", {"policy": policy, "example": example})


# --- Policies ----------------------------------------------------------------------------------


@require_http_methods(["GET"])
def policy_list_view(request):
    today = timezone.localdate()
    return render(
        request,
        "allocations/policy_list.html",
        {
            "policies": policy_list(user=request.user),
            "in_force": policy_in_force_on(today),
            "can_add": request.user.has_perm(POLICY_ADD),
        },
    )


@require_http_methods(["GET"])
def policy_detail_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    user = request.user
    return render(
        request,
        "allocations/policy_detail.html",
        {
            "policy": policy,
            "in_force": policy_in_force_on(timezone.localdate()),
            "can_edit": user.has_perm(POLICY_CHANGE) and policy.status == RasPolicy.Status.DRAFT,
            "can_approve": policy_can_approve(user=user, policy=policy),
            "approver_touched": policy.status == RasPolicy.Status.DRAFT
            and user.has_perm(POLICY_APPROVE)
            and not policy_can_approve(user=user, policy=policy),
            "can_copy": user.has_perm(POLICY_ADD),
            "can_reprice": user.has_perm(POLICY_REPRICE) and repricing_refusal(policy) is None,
            "runs": policy.runs.select_related("created_by"),
            "history": object_history(policy),
        },
    )


@require_http_methods(["GET", "POST"])
def policy_edit_view(request, pk: int | None = None):
    policy = policy_get_for_user(user=request.user, pk=pk) if pk else None
    if not request.user.has_perm(POLICY_CHANGE if policy else POLICY_ADD) or (
        policy and policy.status != RasPolicy.Status.DRAFT
    ):
        raise PermissionDenied("Only RAS administrators edit draft policy versions.")
    form = PolicyForm(request.POST or None, instance=policy or RasPolicy())
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if policy:
                policy = policy_update_draft(actor=request.user, policy=policy, data=data)
            else:
                policy = policy_create_draft(actor=request.user, data=data)
        except ValidationError as error:
            add_service_errors(form, error)
        except PolicyNotDraft as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, f"Draft saved: {policy}. It needs approval by someone else.")
            return redirect("allocations:policy_detail", pk=policy.pk)
    return render(request, "allocations/policy_form.html", {"form": form, "policy": policy})


@require_http_methods(["POST"])
def policy_approve_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    try:
        policy_approve(actor=request.user, policy=policy)
    except (PolicyNotDraft, ValidationError) as refusal:
        messages.error(request, "; ".join(getattr(refusal, "messages", [str(refusal)])))
    else:
        messages.success(request, f"{policy} is approved. It is in force from its date.")
    return redirect("allocations:policy_detail", pk=policy.pk)


@require_http_methods(["POST"])
def policy_copy_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(POLICY_ADD):
        raise PermissionDenied("Only RAS administrators draft policy versions.")
    copy = policy_copy_to_draft(actor=request.user, policy=policy)
    messages.success(request, f"A new draft has been made from {policy}.")
    return redirect("allocations:policy_edit", pk=copy.pk)


# --- Re-pricing ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def repricing_view(request, pk: int):
    """Preview (GET; ?format=csv downloads the list) and start (POST) applying a policy."""
    policy = policy_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(POLICY_REPRICE):
        raise PermissionDenied("Only RAS administrators apply a policy to current budgets.")
    refusal = repricing_refusal(policy)
    if refusal:
        messages.error(request, refusal)
        return redirect("allocations:policy_detail", pk=policy.pk)
    if request.method == "POST":
        try:
            run = repricing_start(actor=request.user, policy=policy)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
            return redirect("allocations:repricing", pk=policy.pk)
        return redirect("allocations:repricing_run", pk=run.pk)
    preview = repricing_preview(policy)
    if request.GET.get("format") == "csv":
        response = HttpResponse(repricing_csv(preview), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="repricing-preview-policy-{policy.pk}.csv"'
        )
        return response
    biggest = sorted(
        (r for r in preview.rows if r.result), key=lambda r: abs(r.change), reverse=True
    )[:50]
    return render(
        request,
        "allocations/repricing_preview.html",
        {"policy": policy, "preview": preview, "biggest": biggest},
    )


@require_http_methods(["GET"])
def repricing_run_view(request, pk: int):
    return render(
        request,
        "allocations/repricing_run.html",
        {"run": repricing_run_get_for_user(user=request.user, pk=pk)},
    )


@require_http_methods(["GET"])
def repricing_run_status_view(request, pk: int):
    run = repricing_run_get_for_user(user=request.user, pk=pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "total": run.total,
            "processed": run.processed,
            "changed": run.changed,
            "flagged": run.flagged,
            "percent": run.percent,
            "error": run.error,
        }
    )


# --- Budgets on the person's page, recalculation and decisions --------------------------------


def person_budget_section(request, person) -> str | None:
    """The 'Indicative budget' section of a person's page (registered in AppConfig.ready)."""
    user = request.user
    budgets = budgets_for_person(user=user, person=person)
    if not user.has_perm(BUDGET_VIEW):
        return None
    current = next((b for b in budgets if b.status == IndicativeBudget.Status.CURRENT), None)
    pending = [b for b in budgets if b.status == IndicativeBudget.Status.AWAITING_DECISION]
    # Why there is no current figure, when a reassessment ended the last one.
    ended = (
        next((b for b in budgets if b.status == IndicativeBudget.Status.ENDED), None)
        if current is None
        else None
    )
    plans = list(person.plans.select_related("created_by")) if user.has_perm(PLAN_VIEW) else []
    agreed_budgets = list(
        AgreedBudget.objects.filter(
            person=person,
            status__in=[AgreedBudget.Status.CURRENT, AgreedBudget.Status.AWAITING_DECISION],
        ).select_related("agreed_by")
    )
    agreed = next((a for a in agreed_budgets if a.status == AgreedBudget.Status.CURRENT), None)
    agreed_pending = [a for a in agreed_budgets if a.status != AgreedBudget.Status.CURRENT]
    return render_to_string(
        "allocations/_person_budget.html",
        {
            "person": person,
            "current": current,
            "pending": pending,
            "ended": ended,
            "basis_note": basis_note(current) if current else "",
            "agreed_pending": agreed_pending,
            "budgets": budgets,
            "explanation": budget_explanation(current) if current else [],
            "triggers": budget_triggers(current) if current else [],
            "can_recalculate": user.has_perm(BUDGET_RECALCULATE),
            "can_decide": user.has_perm(BUDGET_DECIDE),
            "reason_form": ReasonForm(),
            "plans": plans,
            "open_plan": next((p for p in plans if p.status in OPEN_STATUSES), None),
            "agreed": agreed,
            "can_plan": user.has_perm(PLAN_ADD),
            "letters": list(person.letters.select_related("issued_by", "withdrawn_by").defer("pdf"))
            if user.has_perm(LETTER_VIEW)
            else [],
            "can_issue": user.has_perm(LETTER_ISSUE),
            "can_withdraw_letters": user.has_perm(LETTER_WITHDRAW),
            "letter_kinds": Letter.Kind.choices,
        },
        request=request,
    )


@require_http_methods(["GET"])
def budget_detail_view(request, pk: int):
    budget = budget_get_for_user(user=request.user, pk=pk)
    person_access_record(
        user=request.user, person=budget.person, page=PersonAccess.Page.BUDGET, path=request.path
    )
    return render(
        request,
        "allocations/budget_detail.html",
        {
            "budget": budget,
            "person": budget.person,
            "explanation": budget_explanation(budget),
            "triggers": budget_triggers(budget),
            "can_decide": request.user.has_perm(BUDGET_DECIDE)
            and budget.status == IndicativeBudget.Status.AWAITING_DECISION,
            "decision_form": LowerFigureDecisionForm(),
            "history": object_history(budget),
        },
    )


@require_http_methods(["POST"])
def budget_recalculate_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(BUDGET_RECALCULATE):
        raise PermissionDenied("Your role cannot recalculate budgets.")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the budget is being recalculated.")
    else:
        try:
            budget = budget_recalculate(
                actor=request.user, person=person, reason=form.cleaned_data["reason"]
            )
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        except NoPolicyInForce as refusal:
            messages.error(request, str(refusal))
        else:
            if budget.status == IndicativeBudget.Status.AWAITING_DECISION:
                messages.warning(
                    request,
                    "The new figure is lower while the person's needs have not reduced: it "
                    "waits for a manager's decision and the current figure stays in force.",
                )
            else:
                messages.success(request, "A new budget version has been calculated.")
    return redirect("assessments:person_detail", pk=person.pk)


@require_http_methods(["GET"])
def decisions_view(request):
    if not request.user.has_perm(BUDGET_DECIDE):
        raise PermissionDenied("Only managers decide on lower figures.")
    return render(
        request,
        "allocations/decisions.html",
        {
            "budgets": budgets_awaiting_decision(user=request.user),
            "agreed_budgets": agreed_awaiting_decision(user=request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def agreed_decide_view(request, pk: int):
    """A lower agreed budget: see it beside the current one, and adopt it or keep the current
    one, with a reason."""
    agreed = agreed_get_for_user(user=request.user, pk=pk)
    form = LowerFigureDecisionForm(request.POST or None)
    can_decide = (
        request.user.has_perm(BUDGET_DECIDE)
        and agreed.status == AgreedBudget.Status.AWAITING_DECISION
    )
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied("Only managers decide on lower agreed budgets.")
        if form.is_valid():
            try:
                agreed_budget_decide(
                    actor=request.user,
                    agreed=agreed,
                    decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as refusal:
                add_service_errors(form, refusal)
            else:
                messages.success(request, "Decision recorded.")
                return redirect("allocations:decisions")
    else:
        person_access_record(
            user=request.user,
            person=agreed.person,
            page=PersonAccess.Page.BUDGET,
            path=request.path,
        )
    return render(
        request,
        "allocations/agreed_decide.html",
        {
            "agreed": agreed,
            "person": agreed.person,
            "form": form,
            "can_decide": can_decide,
            "history": object_history(agreed),
        },
    )


@require_http_methods(["POST"])
def budget_decide_view(request, pk: int):
    budget = budget_get_for_user(user=request.user, pk=pk)
    form = LowerFigureDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision and give the reason.")
        return redirect("allocations:budget_detail", pk=budget.pk)
    try:
        budget_decide(
            actor=request.user,
            budget=budget,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("allocations:budget_detail", pk=budget.pk)
    messages.success(request, "Decision recorded.")
    return redirect("allocations:decisions")


# --- Support plans -----------------------------------------------------------------------------


@require_http_methods(["POST"])
def plan_start_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    try:
        plan = plan_start(actor=request.user, person=person)
    except PlanStateError as refusal:
        messages.error(request, str(refusal))
        return redirect("assessments:person_detail", pk=person.pk)
    return redirect("allocations:plan_detail", pk=plan.pk)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError("Choose an item on this plan.") from None


def _needs(plan) -> list[tuple[str, str]]:
    return [(code, Outcome(code).label) for code in eligible_needs(plan)]


@require_http_methods(["GET", "POST"])
def plan_detail_view(request, pk: int):
    """The plan: its lines and costs beside the indicative budget, how it meets each eligible
    need, how it is managed; and, by state, editing, submitting or authorising it."""
    plan = plan_get_for_user(user=request.user, pk=pk)
    user = request.user
    if request.method == "GET":
        person_access_record(
            user=user, person=plan.person, page=PersonAccess.Page.PLAN, path=request.path
        )
    needs = _needs(plan)
    sections = plan_sections(plan)
    settings_form = PlanSettingsForm(instance=plan)
    line_form = PlanLineForm(needs=needs, sections=sections)
    informal_form = NamedInformalSupportForm(needs=needs)
    comments_form = CommentsForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "settings":
                settings_form = PlanSettingsForm(request.POST, instance=plan)
                if settings_form.is_valid():
                    plan_update(actor=user, plan=plan, data=settings_form.cleaned_data)
                    messages.success(request, "The plan has been saved.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "add_line":
                line_form = PlanLineForm(request.POST, needs=needs, sections=sections)
                if line_form.is_valid():
                    plan_line_add(actor=user, plan=plan, data=line_form.cleaned_data)
                    messages.success(request, "Line added.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "remove_line":
                plan_line_remove(actor=user, plan=plan, line_id=_int(request.POST.get("line")))
                messages.success(request, "Line removed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "remove_informal":
                plan_informal_remove(actor=user, plan=plan, item_id=_int(request.POST.get("item")))
                messages.success(request, "Informal support removed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "add_informal":
                informal_form = NamedInformalSupportForm(request.POST, needs=needs)
                if informal_form.is_valid():
                    plan_informal_add(actor=user, plan=plan, **informal_form.cleaned_data)
                    messages.success(request, "Informal support added.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "submit":
                plan = plan_submit(actor=user, plan=plan)
                if plan.status == SupportPlan.Status.AT_PANEL:
                    messages.success(request, "The plan has been referred to the panel.")
                else:
                    messages.success(request, "The plan has been sent to a team manager.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "authorise":
                agreed = plan_authorise(actor=user, plan=plan)
                if agreed.status == AgreedBudget.Status.AWAITING_DECISION:
                    messages.warning(
                        request,
                        LOWER_AGREED.format(
                            new=gbp(agreed.weekly_gbp), old=gbp(agreed.replaces.weekly_gbp)
                        ),
                    )
                else:
                    messages.success(request, "The plan is authorised: the budget is agreed.")
                return redirect("allocations:plan_detail", pk=plan.pk)
            elif action == "return":
                comments_form = CommentsForm(request.POST)
                if comments_form.is_valid():
                    plan_return(
                        actor=user, plan=plan, comments=comments_form.cleaned_data["comments"]
                    )
                    messages.success(request, "The plan has been returned to the worker.")
                    return redirect("allocations:plan_detail", pk=plan.pk)
            else:
                messages.error(request, "Unknown action.")
        except PlanIncomplete as refusal:
            messages.error(request, "The plan cannot be submitted yet:")
            for problem in refusal.problems:
                messages.error(request, problem)
            return redirect("allocations:plan_detail", pk=plan.pk)
        except (PlanStateError, ValidationError) as refusal:
            messages.error(request, " ".join(getattr(refusal, "messages", [str(refusal)])))
            return redirect("allocations:plan_detail", pk=plan.pk)
    lines = live_lines(plan)
    informal = list(plan.informal.live())
    met = {code for line in lines for code in line.meets_outcomes} | {i.outcome for i in informal}
    can_authorise = (
        plan.status == SupportPlan.Status.AWAITING_AUTHORISATION
        and user.has_perm(PLAN_AUTHORISE)
        and (user.has_perm(PEOPLE_ALL_TEAMS) or user.team_id == plan.person.team_id)
        and not wrote(user, plan)
    )
    return render(
        request,
        "allocations/plan_detail.html",
        {
            "plan": plan,
            "person": plan.person,
            "costs": plan_costs(plan, lines),
            "lines": [(line, line_weekly_text(line)) for line in lines],
            "informal": informal,
            "needs": [(label, code in met) for code, label in needs],
            "outcome_labels": dict(Outcome.choices),
            "section_titles": dict(sections),
            "can_edit": plan.is_editable and user.has_perm(PLAN_CHANGE),
            "can_authorise": can_authorise,
            "wrote_it": wrote(user, plan),
            "settings_form": settings_form,
            "line_form": line_form,
            "informal_form": informal_form,
            "comments_form": comments_form,
            "agreed": getattr(plan, "agreed", None)
            if plan.status == SupportPlan.Status.AGREED
            else None,
            "history": plan_history(plan),
        },
    )


# --- Letters ---------------------------------------------------------------------------------


@require_http_methods(["POST"])
def letter_issue_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    kind = request.POST.get("kind", "")
    try:
        letter, reused = letter_issue(actor=request.user, person=person, kind=kind)
    except NothingToIssue as refusal:
        messages.error(request, str(refusal))
    else:
        if reused:
            messages.info(request, letter_already_issued_message(letter))
        else:
            messages.success(request, f"{letter.get_kind_display()} issued.")
    return redirect("assessments:person_detail", pk=person.pk)


@require_http_methods(["GET"])
def letter_download_view(request, pk: int):
    """The issued PDF, byte for byte as issued. Every download is written to the access log."""
    letter = letter_get_for_user(user=request.user, pk=pk)
    person_access_record(
        user=request.user, person=letter.person, page=PersonAccess.Page.LETTER, path=request.path
    )
    response = HttpResponse(bytes(letter.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{letter.person.reference}-{letter.kind}-{letter.pk}.pdf"'
    )
    response["X-Content-SHA256"] = letter.sha256
    return response


@require_http_methods(["POST"])
def letter_withdraw_view(request, pk: int):
    """Withdraw an issued letter, with a reason (kept, never deleted)."""
    letter = letter_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(LETTER_WITHDRAW):
        raise PermissionDenied("Your role cannot withdraw letters.")
    try:
        letter_withdraw(actor=request.user, letter=letter, reason=request.POST.get("reason", ""))
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    except LetterAlreadyWithdrawn as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{letter.get_kind_display()} withdrawn.")
    return redirect("assessments:person_detail", pk=letter.person_id)


def _batch_people(user, form):
    """The people a batch covers: those the chosen kind of letter is for (see
    letter_batch_people), of a team (a team manager only their own), optionally only those
    whose record dates from a given day on."""
    people = people_visible_to(user)
    team = form.cleaned_data.get("team")
    if team is not None:
        people = people.filter(team=team)
    people = letter_batch_people(form.cleaned_data["kind"], people, form.cleaned_data.get("since"))
    return people.distinct().order_by("reference")


@require_http_methods(["GET", "POST"])
def letter_batch_list_view(request):
    if not request.user.has_perm(BATCH_RUN):
        raise PermissionDenied("Only managers issue letters in batches.")
    form = LetterBatchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        people = _batch_people(request.user, form)
        kind = form.cleaned_data["kind"]
        description = letter_batch_description(
            kind, team=form.cleaned_data.get("team"), since=form.cleaned_data.get("since")
        )
        batch = letter_batch_start(
            actor=request.user, people=people, kind=kind, description=description
        )
        return redirect("allocations:letter_batch", pk=batch.pk)
    batches = LetterBatch.objects.filter(created_by=request.user).order_by("-created_at")[:20]
    return render(request, "allocations/letter_batches.html", {"form": form, "batches": batches})


@require_http_methods(["GET"])
def letter_batch_view(request, pk: int):
    batch = letter_batch_get_for_user(user=request.user, pk=pk)
    return render(request, "allocations/letter_batch.html", {"run": batch, "batch": batch})


@require_http_methods(["GET"])
def letter_batch_status_view(request, pk: int):
    batch = letter_batch_get_for_user(user=request.user, pk=pk)
    return JsonResponse(
        {
            "status": batch.status,
            "status_label": batch.get_status_display(),
            "total": batch.total,
            "processed": batch.processed,
            "issued": batch.issued,
            "reused": batch.reused,
            "failed": len(batch.failures),
            "percent": batch.percent,
        }
    )


@require_http_methods(["GET"])
def letter_batch_zip_view(request, pk: int):
    batch = letter_batch_get_for_user(user=request.user, pk=pk)
    if batch.status != LetterBatch.Status.DONE:
        raise Http404("The batch has not finished yet.")
    for letter in batch_letters(batch):
        person_access_record(
            user=request.user,
            person=letter.person,
            page=PersonAccess.Page.LETTER,
            path=request.path,
        )
    response = HttpResponse(batch_zip(batch), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="letters-batch-{batch.pk}.zip"'
    return response
