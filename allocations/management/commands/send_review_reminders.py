from django.core.management.base import BaseCommand

from allocations.notifications import review_reminders_send


class Command(BaseCommand):
    help = (
        "E-mail each team's workers and managers about reviews that have come due. Run it "
        "daily: each review's due date is announced once, however often it runs."
    )

    def handle(self, *args, **options):
        announced = review_reminders_send()
        self.stdout.write(
            f"Reviews newly due: {sum(announced.values())} in {len(announced)} team(s)."
        )
