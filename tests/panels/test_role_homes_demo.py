"""seed_demo gives every demo login a home with something in it (issue 13), and the auditor an
access log to filter."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.demo import DEMO_USERS
from assessments.models import User

pytestmark = pytest.mark.django_db

# A listed record: a link in a box's list, or a stage of the caseload table.
LISTED = re.compile(r'list-group-item"><a href="|<th scope="row"><a href="')


def test_every_demo_login_lands_on_a_home_with_something_in_it(client):
    call_command("seed_demo")
    for spec in DEMO_USERS:
        client.force_login(User.objects.get(username=spec.username))
        page = client.get(reverse("panels:my_work")).content.decode()
        boxes = page[page.index('<div class="row g-4">') : page.index("</main>")]
        assert LISTED.search(boxes), f"{spec.username}'s home lists nothing"
    client.force_login(User.objects.get(username="auditor"))
    log = client.get(reverse("allocations:access_log")).content.decode()
    assert "0 openings" not in log and "sw.north" in log
