"""People: the caseload list and search, adding a person, a person's page (with their
assessments, history and the sections other apps add), editing, and the access log."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import PersonForm, PersonSearchForm, add_service_errors
from assessments.models import PersonAccess
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
from assessments.services.people import person_access_record, person_create, person_update

PEOPLE_PER_PAGE = 25


@require_http_methods(["GET"])
def person_list_view(request):
    search = PersonSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(person_list(user=request.user, query=query), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
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


@require_http_methods(["GET"])
def person_detail_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    record_opening(request, person, PersonAccess.Page.DETAIL)
    assessments = list(assessments_for_person(person=person))
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
    if request.method == "GET":
        record_opening(request, person, PersonAccess.Page.EDIT)
    elif form.is_valid():
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
