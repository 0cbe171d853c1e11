"""Dates are typed as day, month and year (issue 13): ras_site.forms.DayMonthYearField and its
widget, and the pages whose forms use them."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

import pytest
from django import forms
from django.urls import reverse

from assessments.models import Person
from ras_site.forms import (
    DATE_HINT,
    DATE_MISSING_PARTS,
    DATE_NOT_REAL,
    DATE_REQUIRED,
    DATE_YEAR_DIGITS,
    DayMonthYearField,
)
from tests.factories import date_parts, form_data, person_data


class DateForm(forms.Form):
    date = DayMonthYearField(label="Date of birth")
    optional = DayMonthYearField(label="Review date", required=False)


class LinkForm(forms.Form):
    start = DayMonthYearField(label="From", accept_iso=True)


def _typed(day: str, month: str, year: str, name: str = "date") -> dict:
    return {f"{name}_day": day, f"{name}_month": month, f"{name}_year": year}


# --- the field ---------------------------------------------------------------------------------


def test_three_boxes_make_a_date():
    form = DateForm(_typed("1", "12", "2026"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"date": datetime.date(2026, 12, 1), "optional": None}


@pytest.mark.parametrize(
    ("day", "month", "year", "parsed"),
    [
        (" 01 ", "03", "1950", datetime.date(1950, 3, 1)),
        ("27", "March", "2027", datetime.date(2027, 3, 27)),
        ("27", "mar", "2027", datetime.date(2027, 3, 27)),
        ("29", "2", "2028", datetime.date(2028, 2, 29)),  # a leap year
    ],
)
def test_leading_zeros_spaces_and_month_names_are_understood(day, month, year, parsed):
    form = DateForm(_typed(day, month, year))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date"] == parsed


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (("31", "2", "2026"), DATE_NOT_REAL),
        (("29", "2", "2026"), DATE_NOT_REAL),  # not a leap year
        (("1", "13", "2026"), DATE_NOT_REAL),
        (("x", "3", "2026"), DATE_NOT_REAL),
        (("1", "12", ""), DATE_MISSING_PARTS.format(parts="year")),
        (("", "12", "2026"), DATE_MISSING_PARTS.format(parts="day")),
        (("1", "", ""), DATE_MISSING_PARTS.format(parts="month and year")),
        (("1", "12", "26"), DATE_YEAR_DIGITS),
        (("", "", ""), DATE_REQUIRED),
    ],
)
def test_one_message_for_the_group_says_what_is_wrong(typed, message):
    form = DateForm(_typed(*typed))
    assert not form.is_valid()
    assert form.errors["date"] == [message]


def test_the_messages_read_as_the_design_says():
    assert DATE_NOT_REAL == "Enter a real date."
    assert DATE_MISSING_PARTS.format(parts="year") == "Date must include a year."


def test_an_optional_date_left_empty_is_none_but_half_typed_is_refused():
    assert DateForm({**_typed("1", "1", "2026"), **_typed("", "", "", "optional")}).is_valid()
    half = DateForm({**_typed("1", "1", "2026"), **_typed("3", "", "2027", "optional")})
    assert half.errors["optional"] == [DATE_MISSING_PARTS.format(parts="month")]


def test_what_was_typed_is_shown_again_with_the_message():
    form = DateForm(_typed("31", "2", "2026"))
    assert not form.is_valid()
    html = str(form["date"])
    for name, value in _typed("31", "2", "2026").items():
        assert f'name="{name}" value="{value}"' in html
    assert html.count('aria-invalid="true"') == 3
    assert html.count('aria-describedby="id_date_hint id_date_error"') == 3


def test_a_date_is_shown_in_its_boxes_without_leading_zeros():
    html = str(DateForm(initial={"date": datetime.date(2027, 3, 7)})["date"])
    assert 'name="date_day" value="7"' in html
    assert 'name="date_month" value="3"' in html
    assert 'name="date_year" value="2027"' in html


def test_yyyy_mm_dd_is_taken_only_where_older_links_need_it():
    assert DateForm({"date": "2026-12-01"}).errors["date"] == [DATE_REQUIRED]
    linked = LinkForm({"start": "2026-12-01"})
    assert linked.is_valid() and linked.cleaned_data["start"] == datetime.date(2026, 12, 1)
    assert LinkForm({"start": "2026-02-31"}).errors["start"] == [DATE_NOT_REAL]
    # The boxes win when both are sent.
    both = LinkForm({"start": "2026-12-01", **_typed("2", "1", "2026", "start")})
    assert both.is_valid() and both.cleaned_data["start"] == datetime.date(2026, 1, 2)


# --- the pages -----------------------------------------------------------------------------------


class _Groups(HTMLParser):
    """Each fieldset's legend, labels (for → text) and inputs (id → attributes); a label or an
    input belongs to the innermost fieldset around it."""

    def __init__(self):
        super().__init__()
        self.groups: list[dict] = []
        self._open: list[dict] = []
        self._text_to: tuple[dict, str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "fieldset":
            group = {"legend": "", "labels": {}, "inputs": {}, "hints": []}
            self.groups.append(group)
            self._open.append(group)
        elif self._open and tag in ("legend", "label"):
            self._text_to = (self._open[-1], tag, attrs.get("for"))
        elif self._open and tag == "input":
            self._open[-1]["inputs"][attrs.get("id")] = attrs
        elif self._open and "date-input-hint" in (attrs.get("class") or ""):
            self._text_to = (self._open[-1], "hint", attrs.get("id"))

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._open:
            self._open.pop()
        if tag in ("legend", "label", "div"):
            self._text_to = None

    def handle_data(self, data):
        if self._text_to is None:
            return
        group, kind, target = self._text_to
        if kind == "legend":
            group["legend"] += data.strip()
        elif kind == "label":
            group["labels"][target] = group["labels"].get(target, "") + data.strip()
        else:
            group["hints"].append(data.strip())


def _date_group(html: str, legend: str) -> dict:
    parser = _Groups()
    parser.feed(html)
    matches = [g for g in parser.groups if g["legend"].rstrip("*") == legend]
    assert len(matches) == 1, [g["legend"] for g in parser.groups]
    return matches[0]


def _assert_day_month_year(html: str, legend: str, name: str) -> None:
    group = _date_group(html, legend)
    boxes = {attrs["name"]: (box_id, attrs) for box_id, attrs in group["inputs"].items()}
    assert list(boxes) == [f"{name}_day", f"{name}_month", f"{name}_year"]
    for (box_id, attrs), label in zip(boxes.values(), ["Day", "Month", "Year"], strict=True):
        assert group["labels"][box_id] == label
        assert attrs["type"] == "text" and attrs["inputmode"] == "numeric"
    assert group["hints"] == [DATE_HINT]
    assert 'type="date"' not in html


@pytest.mark.parametrize(
    ("user", "url", "legend", "name"),
    [
        ("worker_a", reverse("assessments:person_create"), "Date of birth", "date_of_birth"),
        ("panel_chair", reverse("panels:meeting_list"), "Date", "date"),
        ("ras_admin", reverse("allocations:policy_create"), "In force from", "effective_from"),
        ("senior_manager", reverse("allocations:reports"), "From", "start"),
        ("senior_manager", reverse("allocations:reports"), "To", "end"),
        ("senior_manager", reverse("allocations:report_pack_list"), "From", "start"),
    ],
)
def test_each_form_shows_day_month_and_year_boxes_in_a_fieldset(
    client, request, user, url, legend, name
):
    client.force_login(request.getfixturevalue(user))
    response = client.get(url)
    assert response.status_code == 200
    _assert_day_month_year(response.text, legend, name)


def test_the_letter_batch_form_asks_for_its_optional_date_the_same_way(client, manager_a):
    client.force_login(manager_a)
    html = client.get(reverse("allocations:letter_batches")).text
    _assert_day_month_year(
        html, "Only those calculated, agreed or decided on or after (optional)", "since"
    )


def test_a_person_is_saved_with_the_date_typed_in_three_boxes(client, worker_a):
    client.force_login(worker_a)
    data = form_data(person_data(worker_a.team, reference="ASC-123456"))
    data.update(date_parts("date_of_birth", datetime.date(1941, 5, 9)))
    response = client.post(reverse("assessments:person_create"), data)
    assert response.status_code == 302
    assert Person.objects.get(reference="ASC-123456").date_of_birth == datetime.date(1941, 5, 9)


def test_an_impossible_date_of_birth_is_explained_beside_the_boxes_and_kept(client, worker_a):
    client.force_login(worker_a)
    data = form_data(person_data(worker_a.team))
    data.update(
        {"date_of_birth_day": "31", "date_of_birth_month": "2", "date_of_birth_year": "1950"}
    )
    response = client.post(reverse("assessments:person_create"), data)
    assert response.status_code == 200
    page = response.text
    # One message, in crispy's place for the field's error, shown by the group's is-invalid.
    assert f'id="error_1_id_date_of_birth"><strong>{DATE_NOT_REAL}</strong>' in page
    assert '<div class="date-input is-invalid">' in page
    for part, typed in (("day", "31"), ("month", "2"), ("year", "1950")):
        assert f'name="date_of_birth_{part}" value="{typed}"' in page
    assert "Nothing has been saved" in page
    assert not Person.objects.exists()
