from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessments.backups import BackupError, backup, documents_archive


class Command(BaseCommand):
    help = (
        "Back up the database with pg_dump (custom format) and the issued documents' files (a tar "
        "with a manifest), each with its SHA-256 beside it. Check a backup with "
        "`manage.py restore_check`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, help="Where to write the dump (default backups/ras-<time>.dump)."
        )

    def handle(self, *args, output=None, **options):
        try:
            path = backup(output)
        except BackupError as problem:
            raise CommandError(str(problem)) from problem
        size = path.stat().st_size
        self.stdout.write(f"Backed up to {path} ({size:,} bytes); SHA-256 in {path.name}.sha256.")
        archive = documents_archive(path)
        self.stdout.write(
            f"Documents' files in {archive.name} ({archive.stat().st_size:,} bytes); "
            f"SHA-256 in {archive.name}.sha256."
        )
