"""People: list and search, create, read (with history), edit, and the access log.

Views parse the request, call a selector or service, and render. Access checks live in
selectors (`person_get_for_user` / `person_get_for_change`).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import PersonForm, PersonSearchForm
from assessments.models import PersonAccess
from assessments.roles import ACCESS_LOG_VIEW, PERSON_CHANGE
from assessments.selectors import (
    person_access_list,
    person_can_add,
    person_get_for_change,
    person_get_for_user,
    person_history,
    person_list,
)
from assessments.services import person_access_record, person_create, person_update

PEOPLE_PER_PAGE = 25


def _form_errors_from(form: PersonForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET"])
def person_list_view(request):
    search = PersonSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(person_list(user=request.user, query=query), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "assessments/person_list.html",
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
            _form_errors_from(form, error)
        else:
            messages.success(request, f"{person.full_name} has been added.")
            return redirect("assessments:person_detail", pk=person.pk)
    return render(request, "assessments/person_form.html", {"form": form, "person": None})


def _record_opening(request, person, page: str) -> None:
    person_access_record(user=request.user, person=person, page=page, path=request.path)


@require_http_methods(["GET"])
def person_detail_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    _record_opening(request, person, PersonAccess.Page.DETAIL)
    return render(
        request,
        "assessments/person_detail.html",
        {
            "person": person,
            "history": person_history(person=person),
            "can_change": request.user.has_perm(PERSON_CHANGE),
            "can_see_access_log": request.user.has_perm(ACCESS_LOG_VIEW),
        },
    )


@require_http_methods(["GET", "POST"])
def person_edit_view(request, pk: int):
    person = person_get_for_change(user=request.user, pk=pk)
    form = PersonForm(request.POST or None, instance=person, user=request.user)
    if request.method == "GET":
        _record_opening(request, person, PersonAccess.Page.EDIT)
    elif form.is_valid():
        try:
            person = person_update(actor=request.user, person=person, data=form.cleaned_data)
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, f"{person.full_name}'s record has been updated.")
            return redirect("assessments:person_detail", pk=person.pk)
    return render(request, "assessments/person_form.html", {"form": form, "person": person})


@require_http_methods(["GET"])
def person_access_log_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    accesses = person_access_list(user=request.user, person=person)
    _record_opening(request, person, PersonAccess.Page.ACCESS_LOG)
    page = Paginator(accesses, 50).get_page(request.GET.get("page"))
    return render(request, "assessments/person_access_log.html", {"person": person, "page": page})
