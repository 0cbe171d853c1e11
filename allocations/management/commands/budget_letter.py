"""python manage.py budget_letter --person REF --kind indicative -o FILE.pdf

Issues one letter from the stored figures (recorded like any other issued letter) and writes
its PDF. --issued-by names the member of staff issuing it; without it the letter is recorded
as issued by the "command line" account (created on first use; it cannot log in). The PDF
written is checked against the letter's SHA-256 first, as every download is."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from allocations.letters.kinds import NothingToIssue
from allocations.models import Letter
from allocations.services.letters import letter_issue
from assessments.models import Person, User
from ras_site.documents import DocumentRefused

COMMAND_LINE_USERNAME = "command.line"


def command_line_user() -> User:
    """The account letters issued from the command line are attributed to: it issues letters
    for every team's people (whoever runs manage.py already holds the whole database)."""
    from django.contrib.auth.models import Permission

    user, created = User.objects.get_or_create(
        username=COMMAND_LINE_USERNAME,
        defaults={"first_name": "Command", "last_name": "line (manage.py)"},
    )
    if created:
        user.set_unusable_password()
        user.save()
    # Given on every use, so an account made before the team rule reached letters has them too.
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="allocations", codename="add_letter"),
        Permission.objects.get(content_type__app_label="assessments", codename="view_all_people"),
    )
    return user


class Command(BaseCommand):
    help = "Issue one budget letter as a PDF."

    def add_arguments(self, parser):
        parser.add_argument("--person", required=True, help="the person's council reference")
        parser.add_argument("--kind", required=True, choices=Letter.Kind.values)
        parser.add_argument("-o", "--output", required=True, help="where to write the PDF")
        parser.add_argument("--issued-by", help="username of the member of staff issuing it")

    def handle(self, *args, person, kind, output, issued_by=None, **options):
        found = Person.objects.filter(reference=person.strip().upper()).first()
        if found is None:
            raise CommandError(f"No person has the reference {person}.")
        if issued_by:
            actor = User.objects.filter(is_active=True, username=issued_by).first()
            if actor is None:
                raise CommandError(f"No active member of staff has the username {issued_by}.")
        else:
            actor = command_line_user()
        try:
            letter, _ = letter_issue(actor=actor, person=found, kind=kind)
        except (NothingToIssue, PermissionDenied) as refusal:
            raise CommandError(str(refusal)) from None
        try:
            pdf = letter.read_pdf()
        except DocumentRefused as refusal:  # a reused letter whose stored file was changed
            raise CommandError(str(refusal)) from None
        with open(output, "wb") as handle:
            handle.write(pdf)
        self.stdout.write(
            f"Issued {letter.get_kind_display().lower()} for {found.reference} "
            f"({letter.size_bytes:,} bytes, SHA-256 {letter.sha256}) to {output}."
        )
