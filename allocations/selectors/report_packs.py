"""Reads for issued report packs, scoped to the user asking: RAS administrators, senior
managers and auditors (REPORT_PACK_VIEW) read them; every other role, team managers included,
is refused (403)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from allocations.models import ReportPack
from allocations.permissions import REPORT_PACK_VIEW
from assessments.roles import PEOPLE_ALL_TEAMS

NOT_PACK_READER = "Your role does not read the report packs."


def _visible(user) -> QuerySet[ReportPack]:
    if not user.has_perm(REPORT_PACK_VIEW):
        raise PermissionDenied(NOT_PACK_READER)
    packs = ReportPack.objects.select_related("issued_by").defer("pdf")
    if user.has_perm(PEOPLE_ALL_TEAMS):
        return packs
    # No such role today; should one be given the packs, it reads its own team's only.
    if user.team_id is None:
        return packs.none()
    return packs.filter(scope__team_ids=[user.team_id])


def report_pack_list(*, user) -> QuerySet[ReportPack]:
    """The packs the user may read, newest first, without their PDFs (one query)."""
    return _visible(user)


def report_pack_get_for_user(*, user, pk: int) -> ReportPack:
    """One pack the user may read (its PDF is loaded when first used), 404 for no such pack,
    403 for a role that reads no packs."""
    pack = _visible(user).filter(pk=pk).first()
    if pack is None:
        raise Http404("No such report pack.")
    return pack
