"""People: the caseload list and search, adding a person, a person's page (with their
assessments, history and the sections other apps add), editing, and the access log."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import PersonForm, PersonSearchForm, add_service_errors
from assessments.models import Person, PersonAccess
from assessments.person_page import person_sections
from assessments.roles import ACCESS_LOG_VIEW, ASSESSMENT_ADD, PERSON_CHANGE
from assessments.selectors.assessments import assessment_resume_step, assessments_for_person
from assessments.selectors.people import (
    person_access_list,
    person_can_add,
    person_get_for_change,
    person_get_for_user,
    person_history,
    person_list,
)
from assessments.services.concurrency import ConcurrentEdit
from assessments.services.people import (
    people_access_record,
    person_access_record,
    person_create,
    person_update,
)

PEOPLE_PER_PAGE = 25


@require_http_methods(["GET"])
def person_list_view(request):
    search = PersonSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(person_list(user=request.user, query=query), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = list(page.object_list)
    record_shown(request, page.object_list, PersonAccess.Page.PEOPLE_LIST)
    return render(
        request,
        "assessments/people/list.html",
        {
            "search": search,
            "query": query,
            "page": page,
            "can_add": person_can_add(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def person_create_view(request):
    if not person_can_add(request.user):
        raise PermissionDenied("Your role cannot add people.")
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = person_create(actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{person.full_name} has been added.")
            return redirect("assessments:person_detail", pk=person.pk)
    return render(request, "assessments/people/form.html", {"form": form, "person": None})


def record_opening(request, person, page: str) -> None:
    """Log that the user opened `person`'s record on this page (shared with the assessment
    pages)."""
    person_access_record(user=request.user, person=person, page=page, path=request.path)


def record_shown(request, shown, page: str) -> None:
    """Log that this page showed the user each person in `shown` (a list of people, or any
    page context: see people_in): one INSERT (shared with the other apps' list pages)."""
    people_access_record(
        user=request.user, people=people_in(shown), page=page, path=request.get_full_path()
    )


def people_in(value, _depth: int = 0) -> list[int]:
    """The ids of the people a page's context shows: Person objects, and the person of each
    record in it (`person_id`), followed through relations already loaded (select_related,
    prefetch_related) so that nothing is fetched to find them. Lists, tuples, sets, dicts and
    dataclasses are walked; anything else is ignored."""
    found: list[int] = []
    if _depth > 6:
        return found
    if isinstance(value, Person):
        return [value.pk]
    if isinstance(value, Model):
        if getattr(value, "person_id", None) is not None:
            found.append(value.person_id)
        for related in value._state.fields_cache.values():
            found += people_in(related, _depth + 1)
        for related in getattr(value, "_prefetched_objects_cache", {}).values():
            found += people_in(list(related), _depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            found += people_in(item, _depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        if getattr(value, "person_id", None) is not None:
            found.append(value.person_id)
        for field in dataclasses.fields(value):
            found += people_in(getattr(value, field.name), _depth + 1)
    elif isinstance(value, list | tuple | set):
        for item in value:
            found += people_in(item, _depth + 1)
    return found


@require_http_methods(["GET"])
def person_detail_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    record_opening(request, person, PersonAccess.Page.DETAIL)
    assessments = assessments_for_person(person=person)
    open_assessment = next((a for a in assessments if a.is_draft), None)  # at most one
    return render(
        request,
        "assessments/people/detail.html",
        {
            "person": person,
            "history": person_history(person=person),
            "assessments": assessments,
            "open_assessment": open_assessment,
            "resume_step": assessment_resume_step(assessment=open_assessment)
            if open_assessment
            else 1,
            "extra_sections": person_sections(request, person),
            "can_assess": request.user.has_perm(ASSESSMENT_ADD),
            "can_change": request.user.has_perm(PERSON_CHANGE),
            "can_see_access_log": request.user.has_perm(ACCESS_LOG_VIEW),
        },
    )


@require_http_methods(["GET", "POST"])
def person_edit_view(request, pk: int):
    person = person_get_for_change(user=request.user, pk=pk)
    form = PersonForm(request.POST or None, instance=person, user=request.user)
    conflict, latest = None, []
    if request.method == "POST" and form.is_valid():
        try:
            person = person_update(
                actor=request.user,
                person=person,
                data=form.cleaned_data,
                lock_version=form.cleaned_data["lock_version"],
            )
        except ConcurrentEdit as refusal:
            conflict = refusal.message
            person = person_get_for_change(user=request.user, pk=pk)
            latest = form.show_conflict(person)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{person.full_name}'s record has been updated.")
            return redirect("assessments:person_detail", pk=person.pk)
    # The form shows the record: on opening, and again after a save that was refused.
    record_opening(request, person, PersonAccess.Page.EDIT)
    return render(
        request,
        "assessments/people/form.html",
        {"form": form, "person": person, "conflict": conflict, "latest": latest},
    )


@require_http_methods(["GET"])
def person_access_log_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    accesses = person_access_list(user=request.user, person=person)
    record_opening(request, person, PersonAccess.Page.ACCESS_LOG)
    page = Paginator(accesses, 50).get_page(request.GET.get("page"))
    return render(request, "assessments/people/access_log.html", {"person": person, "page": page})
