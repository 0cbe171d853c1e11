from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assessments.demo import DEMO_NEEDS_CLOCK, HAS_CLOCK, demo_logins, seed_demo


class Command(BaseCommand):
    help = "Load the demo teams, users and people (safe to run again: adds only what is missing)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, quiet_logins=False, **options):
        if settings.PRODUCTION:
            # The demo creates accounts whose password is published in the README.
            raise CommandError(
                "seed_demo refuses to run with DJANGO_ENV=production: it creates accounts with "
                "a published password."
            )
        if not HAS_CLOCK:
            raise CommandError(DEMO_NEEDS_CLOCK)
        _, created = seed_demo()
        self.stdout.write(f"Demo data ready ({created} people added).")
        if not quiet_logins:
            self.stdout.write("Demo logins:")
            for line in demo_logins():
                self.stdout.write(f"  {line}")
