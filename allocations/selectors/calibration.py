"""Reads for calibration (issue 11): the samples, one sample and one run, each through its
door — 403 for a role that may not see calibration, 404 for what does not exist. Samples and
runs are the service's, not a team's, so there is no team rule here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404

from allocations.models import CalibrationRun, CalibrationSample, IndicativeBudget
from allocations.permissions import CALIBRATION_VIEW

NOT_CALIBRATION_READER = "Your role cannot see calibration samples and runs."


def _check(user) -> None:
    if not user.has_perm(CALIBRATION_VIEW):
        raise PermissionDenied(NOT_CALIBRATION_READER)


def sample_list(*, user) -> QuerySet[CalibrationSample]:
    _check(user)
    return CalibrationSample.objects.select_related("created_by")


def sample_get_for_user(*, user, pk: int) -> CalibrationSample:
    try:
        return sample_list(user=user).get(pk=pk)
    except CalibrationSample.DoesNotExist:
        raise Http404("No such calibration sample.") from None


def sample_runs(sample: CalibrationSample) -> QuerySet[CalibrationRun]:
    """A sample's runs, newest first, with who ran them and on which policy."""
    return sample.runs.select_related("created_by", "policy")


def run_get_for_user(*, user, pk: int) -> CalibrationRun:
    _check(user)
    try:
        return CalibrationRun.objects.select_related("sample", "policy", "created_by").get(pk=pk)
    except CalibrationRun.DoesNotExist:
        raise Http404("No such calibration run.") from None


def caseload_counts(*, user) -> dict[str, int]:
    """How many people have a current indicative budget, by client group (groups with nobody
    left out): the live caseload a sample is scaled up to. One query."""
    _check(user)
    return caseload_group_counts()


def caseload_group_counts() -> dict[str, int]:
    """caseload_counts without a user to check: for `manage.py ras_calibrate --scale`, run by
    whoever runs the server (the counts name nobody)."""
    return dict(
        IndicativeBudget.objects.filter(status=IndicativeBudget.Status.CURRENT)
        .values("person__client_group")
        .annotate(n=Count("person", distinct=True))
        .order_by("person__client_group")
        .values_list("person__client_group", "n")
    )
