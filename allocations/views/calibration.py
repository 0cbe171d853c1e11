"""Calibration's pages (issue 11): the samples (upload a file, or build one from the live
caseload), one sample with its runs and the fitting form, one run's report, and adopting a
fitted price as a draft policy version or section weights as a draft questionnaire version.
Thin: door → service → redirect or render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.calibration.samples import FILE_ROW, SampleInvalid
from allocations.forms import (
    CALIBRATION_METHODS,
    CalibrationRunForm,
    CaseloadSampleForm,
    SampleUploadForm,
)
from allocations.permissions import CALIBRATION_RUN
from allocations.selectors.calibration import (
    run_get_for_user,
    sample_get_for_user,
    sample_list,
    sample_runs,
)
from allocations.selectors.calibration_charts import run_charts
from allocations.services.calibration import (
    NOT_CALIBRATOR,
    calibration_adopt_price,
    calibration_adopt_weights,
    calibration_run,
    sample_from_caseload,
    sample_load,
)
from assessments.forms import add_service_errors
from assessments.views.refusals import refuse

SAMPLE_REFUSED = "The file was not loaded: nothing has been saved. Correct these and load it again."


def _may_run(request) -> bool:
    return request.user.has_perm(CALIBRATION_RUN)


def _refuse_readers(request) -> None:
    """A reader (an auditor) is refused any change before a form is read."""
    if not _may_run(request):
        raise PermissionDenied(NOT_CALIBRATOR)


@require_http_methods(["GET", "POST"])
def sample_list_view(request):
    samples = sample_list(user=request.user)
    upload = SampleUploadForm(prefix="upload")
    caseload = CaseloadSampleForm(prefix="caseload")
    refusal: list[tuple[str, str, str]] = []
    if request.method == "POST":
        _refuse_readers(request)
        upload = SampleUploadForm(request.POST, request.FILES, prefix="upload")
        if upload.is_valid():
            data = upload.cleaned_data["file"]
            try:
                sample = sample_load(
                    actor=request.user,
                    name=upload.cleaned_data["name"],
                    data=data.read(),
                    filename=data.name,
                )
            except SampleInvalid as invalid:
                refusal = [
                    ("The file" if row == FILE_ROW else str(row), field, message)
                    for row, field, message in invalid.errors
                ]
                upload.add_error("file", SAMPLE_REFUSED)
            else:
                messages.success(request, f"Loaded {sample}.")
                return redirect("allocations:calibration_sample", pk=sample.pk)
    return render(
        request,
        "allocations/calibration/list.html",
        {
            "samples": samples,
            "upload": upload,
            "caseload": caseload,
            "refusal": refusal,
            "can_run": _may_run(request),
        },
        status=400 if refusal else 200,
    )


@require_http_methods(["POST"])
def sample_caseload_view(request):
    sample_list(user=request.user)
    _refuse_readers(request)
    form = CaseloadSampleForm(request.POST, prefix="caseload")
    if not form.is_valid():
        messages.error(request, "Give the sample a name.")
        return redirect("allocations:calibration_samples")
    try:
        sample = sample_from_caseload(actor=request.user, name=form.cleaned_data["name"])
    except ValidationError as refusal:
        refuse(request, refusal)
        return redirect("allocations:calibration_samples")
    messages.success(request, f"Built {sample} from the live caseload.")
    return redirect("allocations:calibration_sample", pk=sample.pk)


@require_http_methods(["GET", "POST"])
def sample_detail_view(request, pk: int):
    sample = sample_get_for_user(user=request.user, pk=pk)
    form = CalibrationRunForm()
    if request.method == "POST":
        _refuse_readers(request)
        form = CalibrationRunForm(request.POST)
        if form.is_valid():
            try:
                run = calibration_run(
                    actor=request.user,
                    sample=sample,
                    method=form.cleaned_data["method"],
                    policy=form.cleaned_data["policy"],
                    budget=form.cleaned_data["budget"],
                    scale=form.cleaned_data["scale"],
                    transitional=form.cleaned_data["transitional"],
                    prices=form.cleaned_data["sensitivity_prices"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return redirect("allocations:calibration_run", pk=run.pk)
    return render(
        request,
        "allocations/calibration/sample.html",
        {
            "sample": sample,
            "runs": sample_runs(sample),
            "form": form,
            "can_run": _may_run(request),
            "methods": dict(CALIBRATION_METHODS),
        },
    )


@require_http_methods(["GET"])
def run_detail_view(request, pk: int):
    run = run_get_for_user(user=request.user, pk=pk)
    labels = dict(CALIBRATION_METHODS)
    reports = [
        (name, labels.get(name, name), report)
        for name, report in run.results.get("methods", {}).items()
    ]
    return render(
        request,
        "allocations/calibration/run.html",
        {
            "run": run,
            "reports": reports,
            "weights": run.results.get("weights"),
            "affordability": run.results.get("affordability"),
            "scale_up": run.results.get("scale_up"),
            "charts": run_charts(run),
            "can_run": _may_run(request),
        },
    )


@require_http_methods(["POST"])
def run_adopt_weights_view(request, pk: int):
    run = run_get_for_user(user=request.user, pk=pk)
    _refuse_readers(request)
    try:
        version = calibration_adopt_weights(actor=request.user, run=run)
    except ValidationError as refusal:
        refuse(request, refusal)
        return redirect("allocations:calibration_run", pk=run.pk)
    messages.success(
        request,
        f"Draft made: {version}, with points re-scaled by the section weights. Someone other "
        "than you must publish it before it is used.",
    )
    return redirect("assessments:questionnaire_detail", pk=version.pk)


@require_http_methods(["POST"])
def run_adopt_view(request, pk: int):
    run = run_get_for_user(user=request.user, pk=pk)
    _refuse_readers(request)
    try:
        policy = calibration_adopt_price(
            actor=request.user, run=run, method=request.POST.get("method", "")
        )
    except ValidationError as refusal:
        refuse(request, refusal)
        return redirect("allocations:calibration_run", pk=run.pk)
    messages.success(
        request,
        f"Draft made: {policy}. Someone other than you must approve it before it is in force.",
    )
    return redirect("allocations:policy_detail", pk=policy.pk)
