from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessments.backups import BackupError, restore_check, verify_here


class Command(BaseCommand):
    help = (
        "Prove a backup restores: restore it into a scratch database, start the app on the copy "
        "and check its migrations, pages, stored documents' SHA-256 and protective triggers."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", type=Path, nargs="?", help="A file made by `manage.py backup`.")
        parser.add_argument(
            "--keep", action="store_true", help="Keep the scratch database for inspection."
        )
        # Used by restore_check itself: the second process, started on the restored copy.
        parser.add_argument("--verify-here", action="store_true", help="(internal)")

    def handle(self, *args, dump=None, keep=False, verify_here=False, **options):
        if verify_here:
            return self._verify_here()
        if dump is None:
            raise CommandError("Name the backup to check: manage.py restore_check FILE.")
        try:
            report = restore_check(dump, keep=keep, log=self.stdout.write)
        except BackupError as problem:
            raise CommandError(str(problem)) from problem
        for line in report.output.splitlines():
            if not line.startswith("trigger "):
                self.stdout.write(line)
        self.stdout.write(
            f"All {len(report.source_triggers)} protective triggers came through."
            + (f" The copy is kept as {report.database}." if keep else "")
        )
        self.stdout.write(self.style.SUCCESS(f"{dump.name} restores and checks out."))

    def _verify_here(self):
        result = verify_here()
        for name, status in result.pages.items():
            self.stdout.write(f"{name} answered {status} on the restored copy.")
        for label, count in result.documents.items():
            self.stdout.write(f"{count:,} {label} match their SHA-256.")
        self.stdout.write("The access log refuses: " + ", ".join(result.access_log_refuses) + ".")
        for trigger in result.triggers:
            self.stdout.write(f"trigger {trigger}")
        if result.problems:
            raise CommandError("\n".join(result.problems))
