"""The fixed cast of demo users every test can call on (HOUSE STYLE §10)."""

from __future__ import annotations

import pytest
from django.db import connection

from assessments.roles import Role
from tests.factories import make_person, make_team, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Refuse to run database tests on anything but PostgreSQL, the product's database."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit(
                "The test suite runs on PostgreSQL only: set DATABASE_URL (make test does).",
                returncode=3,
            )


@pytest.fixture(scope="session", autouse=True)
def _documents_in_a_temporary_directory(tmp_path_factory):
    """Issued documents' files go to a directory of this test run, never the repository's
    var/documents: the settings for this process, the environment for the processes tests
    start (manage.py, the SQLite file test's worker). A test that changes files on disk takes
    its own directory (tests/allocations/test_letter_storage.py)."""
    import os

    from django.conf import settings
    from django.test import override_settings

    directory = tmp_path_factory.mktemp("documents")
    environment = {"PDF_STORAGE": "filesystem", "PDF_STORAGE_DIR": str(directory)}
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    storages = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "ras_site.documents.DurableFileSystemStorage",
            "OPTIONS": {"location": str(directory), "file_permissions_mode": 0o640},
        },
    }
    with override_settings(STORAGES=storages):
        yield directory
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def documents_dir(tmp_path, settings):
    """A documents storage of this test's own (for tests that change or remove files)."""
    directory = tmp_path / "documents"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "ras_site.documents.DurableFileSystemStorage",
            "OPTIONS": {"location": str(directory)},
        },
    }
    return directory


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    """Each test starts with nothing cached, and the menu's count of what waits is not kept
    between pages (MY_WORK_COUNT_SECONDS 0), so a page's queries do not depend on how long ago
    another page counted: tests/panels/test_role_homes.py tests the keeping itself."""
    from django.core.cache import cache

    cache.clear()
    settings.MY_WORK_COUNT_SECONDS = 0


@pytest.fixture(autouse=True)
def _check_compiled_queries(settings):
    """Every query compiled once (ras_site.compiled) is compiled afresh too and compared, so a
    key that misses something its SQL depends on fails the test that uses it."""
    settings.COMPILED_QUERIES_CHECK = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness is for attackers, not for test users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_a(db):
    return make_team("north", "North Locality Team")


@pytest.fixture
def team_b(db):
    return make_team("south", "South Locality Team")


@pytest.fixture
def worker_a(team_a):
    return make_user("worker.a", Role.SOCIAL_WORKER, team_a)


@pytest.fixture
def worker_b(team_b):
    return make_user("worker.b", Role.SOCIAL_WORKER, team_b)


@pytest.fixture
def manager_a(team_a):
    return make_user("manager.a", Role.TEAM_MANAGER, team_a)


@pytest.fixture
def manager_b(team_b):
    return make_user("manager.b", Role.TEAM_MANAGER, team_b)


@pytest.fixture
def panel_member(db):
    return make_user("panel.member", Role.PANEL_MEMBER)


@pytest.fixture
def panel_member2(db):
    return make_user("panel.member2", Role.PANEL_MEMBER)


@pytest.fixture
def panel_chair(db):
    return make_user("panel.chair", Role.PANEL_CHAIR)


@pytest.fixture
def ras_admin(db):
    return make_user("ras.admin", Role.RAS_ADMINISTRATOR, is_staff=True)


@pytest.fixture
def senior_manager(db):
    return make_user("senior.manager", Role.SENIOR_MANAGER)


@pytest.fixture
def auditor(db):
    return make_user("auditor", Role.AUDITOR)


@pytest.fixture
def person_a(worker_a):
    """A person on team A's caseload, created by team A's social worker."""
    return make_person(actor=worker_a, given_name="Edith", family_name="Atkinson")


@pytest.fixture
def questionnaire(ras_admin, senior_manager):
    """A small published questionnaire: 2 sections of 2 questions, options worth 0, 2 and 5.
    Imported by the RAS administrator, published by the senior manager (four eyes)."""
    from tests.factories import make_published_questionnaire

    return make_published_questionnaire(ras_admin, publisher=senior_manager)


@pytest.fixture
def draft_a(person_a, worker_a, questionnaire):
    """A draft assessment of person_a by team A's worker."""
    from assessments.services.assessments import assessment_start

    return assessment_start(actor=worker_a, person=person_a, supported_by="family")


@pytest.fixture
def policy(ras_admin, senior_manager):
    """The spec's worked-example policy, approved, in force since 1 April 2026."""
    from tests.factories import make_policy

    return make_policy(ras_admin, senior_manager)


@pytest.fixture
def submitted_a(draft_a, worker_a, policy):
    """person_a's submitted, eligible assessment (4 answers of 2 points = 8 points)."""
    from assessments.services.assessments import assessment_submit
    from tests.factories import complete_assessment

    ready = complete_assessment(draft_a, worker_a)
    return assessment_submit(actor=worker_a, assessment=ready, lock_version=ready.lock_version)
