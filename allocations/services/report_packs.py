"""Issuing the members' pack, "Personal budgets: performance and sustainability": rendered
once, stored byte for byte (a file in the documents storage) with its SHA-256 and never
changed (the 0013 migration's PostgreSQL trigger refuses UPDATE and DELETE on a pack); issuing
again makes a new pack."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from allocations.models import ReportPack
from allocations.permissions import REPORT_PACK_ISSUE
from allocations.reports.pack import PACK_TITLE, pack_content, pack_pdf
from allocations.reports.scope import NOT_YOUR_TEAM, ReportScope, report_scope_for_user
from assessments.models import User
from assessments.services.history import save_as
from ras_site.documents import store_document

# Where packs' PDFs are kept in the documents storage (named by their SHA-256).
PACK_FILES = "report-packs"

NOT_PACK_ISSUER = "Your role cannot issue the report pack."
# Two clicks on "Issue" (or a second tab) within this long, for the same scope, by the same
# person, show the pack just issued instead of making a second identical one: packs are kept
# for ever, and a duplicate could never be removed.
REPEAT_WINDOW = datetime.timedelta(seconds=60)
JUST_ISSUED = (
    "You issued this pack for the same scope at {time}, less than a minute ago: it is shown "
    "instead of a second copy. Issue it again after a minute if you mean to."
)


class PackJustIssued(Exception):
    """The same person issued a pack of the same scope less than REPEAT_WINDOW ago; `pack`
    is that pack."""

    def __init__(self, pack: ReportPack):
        self.pack = pack
        super().__init__(JUST_ISSUED.format(time=f"{timezone.localtime(pack.issued_at):%H:%M:%S}"))


def scope_as_data(scope: ReportScope) -> dict:
    """The scope a pack keeps (JSON): the period as ISO dates, the team ids (None: every team),
    the client group's code (None: every group), and the scope in words as it was on the day."""
    return {
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "team_ids": None if scope.team_ids is None else sorted(scope.team_ids),
        "client_group": scope.client_group,
        "description": scope.describe(),
    }


def _check_scope(actor: User, scope: ReportScope) -> None:
    """The scope must be one `actor` may see: report_scope_for_user's rule (a role without
    reports, or a team manager asking for another team, is refused)."""
    allowed = report_scope_for_user(
        actor, start=scope.start, end=scope.end, client_group=scope.client_group
    )
    if allowed.team_ids is not None and (
        scope.team_ids is None or not set(scope.team_ids) <= set(allowed.team_ids)
    ):
        raise PermissionDenied(NOT_YOUR_TEAM)


def _lock_issuer(actor: User) -> None:
    """Serialise one person's issuing (a transaction-scoped PostgreSQL advisory lock), so two
    near-simultaneous clicks see each other's pack. SQLite writes one at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('allocations.report_pack_issue'), %s)",
                [actor.pk],
            )


def report_pack_issue(*, actor: User, scope: ReportScope) -> ReportPack:
    """Issue the pack for `scope`: its content read now, rendered as a tagged PDF, its file
    written to the documents storage, and the row stored with the file's name, its SHA-256,
    size, scope (scope_as_data), title and who issued it, with a history row naming `actor`,
    in one transaction.

    Raises PermissionDenied (a role that does not issue packs, or a scope the actor may not
    see), ValueError (a period that ends before it starts, an unknown client group) or
    PackJustIssued (the same actor issued the same scope less than a minute ago)."""
    if not actor.has_perm(REPORT_PACK_ISSUE):
        raise PermissionDenied(NOT_PACK_ISSUER)
    _check_scope(actor, scope)
    data = scope_as_data(scope)
    with transaction.atomic():
        _lock_issuer(actor)
        now = timezone.now()
        recent = (
            ReportPack.objects.defer("pdf")
            .filter(
                issued_by=actor,
                issued_at__gt=now - REPEAT_WINDOW,
                period_start=scope.start,
                period_end=scope.end,
                scope__team_ids=data["team_ids"],
                scope__client_group=data["client_group"],
            )
            .first()
        )
        if recent is not None:
            raise PackJustIssued(recent)
        content = pack_content(
            scope,
            issued_on=timezone.localdate(now),
            issued_by=actor.get_full_name() or actor.username,
        )
        # The file first, then the row (a rollback leaves an unnamed file, harmless; a row
        # never names a file not written: ras_site/documents.py).
        pdf_file, sha256, size_bytes = store_document(PACK_FILES, pack_pdf(content))
        return save_as(
            ReportPack(
                title=PACK_TITLE,
                period_start=scope.start,
                period_end=scope.end,
                scope=data,
                pdf_file=pdf_file,
                sha256=sha256,
                size_bytes=size_bytes,
                issued_at=now,
                issued_by=actor,
            ),
            actor,
            reason="issued",
        )
