"""A date typed as day, month and year (the GOV.UK "date input" pattern).

`<input type="date">` shows the browser's idea of a date: month first in a US-English browser,
a calendar widget that is hard to use for a date of birth, and whatever order the locale picks.
DayMonthYearField shows three labelled boxes, Day, Month and Year, in a fieldset whose legend
is the field's label, with the hint "For example, 27 3 2027", and gives one message for the
group ("Enter a real date.", "Date must include a year.") while keeping what was typed.

The parts are posted as <name>_day, <name>_month and <name>_year. A field made with
`accept_iso=True` also takes <name>=yyyy-mm-dd when no part is sent, so links written before
the three boxes (and the links the reports build for their exports) keep working.
"""

from __future__ import annotations

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

DATE_HINT = "For example, 27 3 2027"
DATE_REQUIRED = "Enter a date."
DATE_MISSING_PARTS = "Date must include a {parts}."
DATE_NOT_REAL = "Enter a real date."
DATE_YEAR_DIGITS = "Year must include 4 numbers."

PARTS = ("day", "month", "year")
_LABELS = {"day": "Day", "month": "Month", "year": "Year"}
# A month may be typed as a name ("March", "mar", "Sept") as well as a number.
_MONTHS = {
    name: number
    for number, full in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
    for name in (full, full[:3], "sept" if number == 9 else full[:3])
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _from_iso(text: str) -> datetime.date | None:
    if not _ISO.match(text.strip()):
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None


class DayMonthYearWidget(forms.MultiWidget):
    """Three numeric text boxes (day, month, year) with their labels and the hint.

    `autocomplete` names the autofill family, e.g. "bday" for a date of birth (the boxes get
    bday-day, bday-month, bday-year). `accept_iso`: see the module docstring."""

    template_name = "widgets/day_month_year.html"
    use_fieldset = True

    def __init__(self, attrs=None, *, autocomplete: str = "", accept_iso: bool = False):
        self.accept_iso = accept_iso
        widgets = {}
        for part in PARTS:
            part_attrs = {
                "class": f"form-control date-input-{part}",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
            if autocomplete:
                part_attrs["autocomplete"] = f"{autocomplete}-{part}"
            widgets[part] = forms.TextInput(attrs=part_attrs)
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if isinstance(value, str):
            value = _from_iso(value)
        if isinstance(value, datetime.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]

    def value_from_datadict(self, data, files, name):
        parts = super().value_from_datadict(data, files, name)
        if self.accept_iso and not any(parts) and data.get(name):
            # An older link's yyyy-mm-dd: its parts, or the text itself, which the field refuses.
            date = _from_iso(data[name])
            return self.decompress(date) if date else data[name]
        return parts

    def value_omitted_from_data(self, data, files, name):
        omitted = super().value_omitted_from_data(data, files, name)
        return omitted and not (self.accept_iso and name in data)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        box_id = widget["attrs"].get("id", "")
        invalid = widget["attrs"].get("aria-invalid") == "true"
        widget["hint"] = DATE_HINT
        widget["hint_id"] = f"{box_id}_hint" if box_id else ""
        # The error's id is the one Django and crispy give the field's error list.
        described = [widget["hint_id"], f"{box_id}_error" if box_id and invalid else ""]
        widget["invalid"] = invalid
        for part, sub in zip(PARTS, widget["subwidgets"], strict=True):
            sub["part"] = part
            sub["label"] = _LABELS[part]
            sub_attrs = sub["attrs"]
            sub_attrs.pop("required", None)  # the message says what is missing; not the browser
            if any(described):
                sub_attrs["aria-describedby"] = " ".join(d for d in described if d)
            if invalid and "is-invalid" not in sub_attrs.get("class", "").split():
                sub_attrs["class"] = f"{sub_attrs.get('class', '')} is-invalid".strip()
        return context

    def id_for_label(self, id_):
        # The legend names the group; each box has its own label.
        return ""


class DayMonthYearField(forms.MultiValueField):
    """A `datetime.date` from three boxes; None when all three are left empty and the field is
    optional. One message for the group: DATE_REQUIRED, DATE_MISSING_PARTS (naming the parts
    left out), DATE_YEAR_DIGITS or DATE_NOT_REAL."""

    widget = DayMonthYearWidget
    default_error_messages = {
        "required": DATE_REQUIRED,
        "invalid": DATE_NOT_REAL,
        "incomplete": DATE_MISSING_PARTS,
    }

    def __init__(self, *, accept_iso: bool = False, autocomplete: str = "", **kwargs):
        kwargs.pop("max_length", None)  # a model field's, meaningless here
        widget = kwargs.get("widget")
        if widget is None or isinstance(widget, type):
            kwargs["widget"] = (widget or DayMonthYearWidget)(
                accept_iso=accept_iso, autocomplete=autocomplete
            )
        parts = tuple(forms.CharField(required=False, max_length=20) for _ in PARTS)
        super().__init__(parts, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not any(data_list):
            return None
        day, month, year = ((v or "").strip() for v in data_list)
        missing = [part for part, v in zip(PARTS, (day, month, year), strict=True) if not v]
        if missing:
            raise ValidationError(
                self.error_messages["incomplete"].format(parts=" and ".join(missing)),
                code="incomplete",
            )
        validate_ascii_digits(day + month + year)  # int() would read "١٢" as 12
        month_number = _MONTHS.get(month.lower().rstrip("."), month)
        try:
            day_n, month_n, year_n = int(day), int(month_number), int(year)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not (year.isdigit() and len(year) == 4):
            raise ValidationError(DATE_YEAR_DIGITS, code="year_digits")
        try:
            return datetime.date(year_n, month_n, day_n)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


# --- Numbers typed with the digits 0 to 9 -------------------------------------------------------
# Django's IntegerField and DecimalField read any Unicode digit (int("١٢٣") is 123) and
# Python's underscores ("1_000"): a count or an amount of money accepts the digits 0 to 9 only.

ASCII_DIGITS_MESSAGE = "Use the digits 0 to 9."


def validate_ascii_digits(text: str) -> None:
    """ValidationError(ASCII_DIGITS_MESSAGE) when `text` holds a digit other than 0 to 9 (or an
    underscore, which Python reads as a digit separator)."""
    if "_" in text or any(not char.isascii() and char.isnumeric() for char in text):
        raise ValidationError(ASCII_DIGITS_MESSAGE, code="ascii_digits")


class AsciiDigitsMixin:
    """For a number form field: refuses text with other digits before Django reads it."""

    def to_python(self, value):
        if isinstance(value, str):
            validate_ascii_digits(value)
        return super().to_python(value)


class AsciiIntegerField(AsciiDigitsMixin, forms.IntegerField):
    pass


class AsciiDecimalField(AsciiDigitsMixin, forms.DecimalField):
    pass


def ascii_digits_formfield(db_field, **kwargs):
    """A ModelForm's `Meta.formfield_callback`: the model's integer and decimal fields become
    AsciiIntegerField / AsciiDecimalField (a form class the Meta names itself is kept)."""
    if isinstance(db_field, models.DecimalField):
        kwargs.setdefault("form_class", AsciiDecimalField)
    elif isinstance(db_field, models.IntegerField):
        kwargs.setdefault("form_class", AsciiIntegerField)
    return db_field.formfield(**kwargs)


# --- Dates within a sensible window -------------------------------------------------------------
# Review dates, meeting dates and the date a policy comes into force: from 1 January 2000 to five
# years after today (a typo such as 2205 or 0001 is refused beside the field). The database holds
# the same dates between EARLIEST_DATE and LATEST_STORED_DATE (a CHECK constraint cannot follow
# today). A date of birth: from 1 January 1900, never in the future.

EARLIEST_DATE = datetime.date(2000, 1, 1)
YEARS_AHEAD = 5
LATEST_STORED_DATE = datetime.date(2099, 12, 31)
EARLIEST_DATE_OF_BIRTH = datetime.date(1900, 1, 1)
DATE_OUT_OF_RANGE = "Enter a date from {earliest} to {latest}."


def _long(date: datetime.date) -> str:
    return f"{date.day} {date:%B %Y}"


def years_after(date: datetime.date, years: int) -> datetime.date:
    """The same day `years` later (28 February for 29 February in a common year)."""
    try:
        return date.replace(year=date.year + years)
    except ValueError:
        return date.replace(year=date.year + years, day=28)


def validate_sensible_date(value: datetime.date | None) -> None:
    """ValidationError(DATE_OUT_OF_RANGE) unless `value` is from EARLIEST_DATE to YEARS_AHEAD
    years after today."""
    if value is None:
        return
    latest = years_after(timezone.localdate(), YEARS_AHEAD)
    if not EARLIEST_DATE <= value <= latest:
        raise ValidationError(
            DATE_OUT_OF_RANGE.format(earliest=_long(EARLIEST_DATE), latest=_long(latest)),
            code="out_of_range",
        )
