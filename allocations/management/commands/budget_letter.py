"""python manage.py budget_letter --person REF --kind indicative -o FILE.pdf

Issues one letter from the stored figures (recorded like any other issued letter) and writes
its PDF. --issued-by names the member of staff issuing it (default: the first active
superuser)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from allocations.letters import NothingToIssue, letter_issue
from allocations.models import Letter
from assessments.models import Person, User


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
        users = User.objects.filter(is_active=True)
        actor = (
            users.filter(username=issued_by).first()
            if issued_by
            else users.filter(is_superuser=True).order_by("pk").first()
        )
        if actor is None:
            raise CommandError("Name the member of staff issuing the letter with --issued-by.")
        try:
            letter, _ = letter_issue(actor=actor, person=found, kind=kind)
        except NothingToIssue as refusal:
            raise CommandError(str(refusal)) from None
        with open(output, "wb") as handle:
            handle.write(bytes(letter.pdf))
        self.stdout.write(
            f"Issued {letter.get_kind_display().lower()} for {found.reference} "
            f"({letter.size_bytes:,} bytes, SHA-256 {letter.sha256}) to {output}."
        )
