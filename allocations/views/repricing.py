"""Re-pricing pages: the preview (and its CSV), starting a run, and following it; and a policy
version's impact on everyone's current budget (and its CSV), the same preview for any version;
and a questionnaire version's impact, the same preview with answers scored by that version."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.jobs import RESUMING, job_status_response
from allocations.permissions import POLICY_REPRICE
from allocations.selectors.policies import policy_get_for_user, policy_in_force_on
from allocations.selectors.repricing import (
    ImpactUnavailable,
    Preview,
    inputs_mark,
    policy_impact,
    questionnaire_impact,
    repricing_csv,
    repricing_preview,
    repricing_preview_in_background,
    repricing_preview_run_get_for_user,
    repricing_preview_run_latest,
    repricing_preview_summary,
    repricing_refusal,
    repricing_run_get_for_user,
)
from allocations.services.repricing import NOT_REPRICER, repricing_resume, repricing_start
from allocations.services.repricing_preview import repricing_preview_start
from assessments.models import PersonAccess
from assessments.selectors.questionnaires import questionnaire_get_for_user
from assessments.services.people import people_access_record
from assessments.views.people import record_shown
from assessments.views.refusals import refuse
from ras_site.downloads import download

Page = PersonAccess.Page


def _policy_to_reprice(request, pk: int):
    """(the policy, None) for a RAS administrator who may apply it now; (the policy, a
    redirect to it saying why not) when it may not be applied now. 403 for other roles."""
    policy = policy_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(POLICY_REPRICE):
        raise PermissionDenied(NOT_REPRICER)
    refusal = repricing_refusal(policy)
    if refusal:
        messages.error(request, refusal)
        return policy, redirect("allocations:policy_detail", pk=policy.pk)
    return policy, None


@require_http_methods(["GET", "POST"])
def repricing_view(request, pk: int):
    """Preview (GET; ?format=csv downloads the list) and start (POST) applying a policy."""
    policy, refused = _policy_to_reprice(request, pk)
    if refused:
        return refused
    if request.method == "POST":
        try:
            run = repricing_start(actor=request.user, policy=policy)
        except ValidationError as refusal:
            refuse(request, refusal)
            return redirect("allocations:repricing", pk=policy.pk)
        if run.attempts:  # a run of this policy had stalled: it carries on instead
            messages.info(request, RESUMED_INSTEAD)
        return redirect("allocations:repricing_run", pk=run.pk)
    if not _wants_csv(request) and repricing_preview_in_background(policy):
        return _background_preview(request, policy)
    return _preview_response(
        request,
        repricing_preview(policy, count=not _wants_csv(request)),
        f"repricing-preview-policy-{policy.pk}.csv",
        "allocations/repricing/preview.html",
        {"policy": policy},
    )


@require_http_methods(["GET"])
def policy_impact_view(request, pk: int):
    """A policy version's impact on everyone's current budget (?format=csv downloads it)."""
    policy = policy_get_for_user(user=request.user, pk=pk)
    return _preview_response(
        request,
        policy_impact(user=request.user, policy=policy, count=not _wants_csv(request)),
        f"impact-policy-{policy.pk}.csv",
        "allocations/policies/impact.html",
        {"policy": policy, "in_force": policy_in_force_on(timezone.localdate())},
    )


@require_http_methods(["GET"])
def questionnaire_impact_view(request, pk: int):
    """A questionnaire version's impact on everyone's current budget (?format=csv downloads
    it): the policy in force, each person's answers scored by the version."""
    version = questionnaire_get_for_user(user=request.user, pk=pk)
    try:
        preview = questionnaire_impact(
            user=request.user, version=version, count=not _wants_csv(request)
        )
    except ImpactUnavailable as problem:
        messages.error(request, str(problem))
        return redirect("assessments:questionnaire_detail", pk=version.pk)
    return _preview_response(
        request,
        preview,
        f"impact-questionnaire-{version.pk}.csv",
        "allocations/questionnaires/impact.html",
        {"version": version},
    )


LARGE_CASELOAD = (
    "So many people have a current budget that the preview is worked out in the background, "
    "shared by the workers, rather than while this page loads."
)
OUT_OF_DATE = (
    "Budgets, people, teams or policies have changed since this preview was worked out: its "
    "figures may be out of date. Work it out again to see them as they are now."
)
PREVIEW_STARTED = "The preview is being worked out in the background: this page shows its progress."


def _background_preview(request, policy) -> HttpResponse:
    """A large caseload's preview: the newest background preview's progress or, once it has
    finished, its figures (the biggest changes logged as shown), said to be out of date when
    anything it read has changed since it started."""
    run = repricing_preview_run_latest(policy)
    summary = repricing_preview_summary(run) if run else None
    biggest = summary.largest_changes() if summary else []
    if summary:
        record_shown(request, biggest, Page.REPRICING_PREVIEW)
    context = {
        "policy": policy,
        "background": True,
        "run": run,
        "preview": summary,
        "biggest": biggest,
        "out_of_date": summary is not None and run.inputs_mark != inputs_mark(),
        "LARGE_CASELOAD": LARGE_CASELOAD,
        "OUT_OF_DATE": OUT_OF_DATE,
    }
    return render(request, "allocations/repricing/preview.html", context)


@require_http_methods(["POST"])
def repricing_preview_start_view(request, pk: int):
    """Work the preview of applying a policy out in the background (or resume a stalled
    one); back to the preview page, which shows its progress."""
    policy, refused = _policy_to_reprice(request, pk)
    if refused:
        return refused
    repricing_preview_start(actor=request.user, policy=policy)
    messages.info(request, PREVIEW_STARTED)
    return redirect("allocations:repricing", pk=policy.pk)


@require_http_methods(["GET"])
def repricing_preview_status_view(request, pk: int):
    return job_status_response(repricing_preview_run_get_for_user(user=request.user, pk=pk))


def _wants_csv(request) -> bool:
    """The preview's CSV, rather than its page: the rows are read once, for the CSV."""
    return request.GET.get("format") == "csv"


def _preview_response(
    request, preview: Preview, filename: str, template: str, context: dict
) -> HttpResponse:
    """A preview's page, its biggest changes logged as shown; with ?format=csv, its CSV."""
    if _wants_csv(request):
        return _csv_download(request, preview, filename)
    biggest = preview.largest_changes()
    record_shown(request, biggest, Page.REPRICING_PREVIEW)
    return render(request, template, {**context, "preview": preview, "biggest": biggest})


def _csv_download(request, preview: Preview, filename: str) -> HttpResponse:
    """The preview's rows as CSV (read a page at a time); every person in it is logged as
    shown (one INSERT)."""
    shown: list[int] = []
    text = repricing_csv(preview, shown)
    people_access_record(
        user=request.user, people=shown, page=Page.REPRICING_EXPORT, path=request.get_full_path()
    )
    return download(text, "text/csv; charset=utf-8", filename)


RESUMED_INSTEAD = (
    "This policy was already being applied, but its worker stopped part-way: that run "
    "resumes from where it stopped, and nobody is re-priced twice."
)


@require_http_methods(["GET", "POST"])
def repricing_run_view(request, pk: int):
    """The run's progress (GET); POST resumes a run whose worker stopped."""
    run = repricing_run_get_for_user(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            repricing_resume(actor=request.user, run=run)
        except ValidationError as refusal:
            refuse(request, refusal)
        else:
            messages.success(request, RESUMING)
        return redirect("allocations:repricing_run", pk=run.pk)
    return render(request, "allocations/repricing/run.html", {"run": run})


@require_http_methods(["GET"])
def repricing_run_status_view(request, pk: int):
    return job_status_response(repricing_run_get_for_user(user=request.user, pk=pk))
