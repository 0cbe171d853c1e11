"""A calibration sample: existing cases scored with the RAS beside what their packages cost.

`read_sample(data, filename, client_groups=...)` reads CSV (UTF-8, a byte-order mark allowed)
or XLSX (the first sheet), chosen by the file's extension. The header row names the columns,
in any order: `reference`, `client_group`, `points`, `weekly_cost` (the current package's
weekly cost), and optionally `age_band`, `team` and one `points_<section code>` per
questionnaire section. A file with any problem is refused whole: `SampleInvalid.errors` lists
every bad cell as (row, field, message), rows numbered as the user sees them (the header is
row 1; 0 means the file as a whole).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from allocations.engine import NUMBER_LIMIT, round2

REQUIRED_COLUMNS = ("reference", "client_group", "points", "weekly_cost")
OPTIONAL_COLUMNS = ("age_band", "team")
SECTION_PREFIX = "points_"
FILE_ROW = 0  # the row of a problem with the file itself, not one of its rows


@dataclass(frozen=True)
class SampleCase:
    """One existing case: its RAS points (and points by section, when the file gives them)
    beside its current package's weekly cost. Every number is a finite, non-negative Decimal
    below the engine's NUMBER_LIMIT."""

    reference: str
    client_group: str
    points: Decimal
    weekly_cost: Decimal
    age_band: str = ""
    team: str = ""
    section_points: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "section_points", MappingProxyType(dict(self.section_points)))


class SampleInvalid(Exception):
    """The file cannot be used. `errors` is a list of (row, field, message): the row as the
    user counts it (header = 1, 0 = the file as a whole), the column's name ("" when none)."""

    def __init__(self, errors: list[tuple[int, str, str]]):
        self.errors = errors
        super().__init__("; ".join(describe(error) for error in errors))


def describe(error: tuple[int, str, str]) -> str:
    """One line of the report: "Row 3, points: is not a number ('ten')"."""
    row, name, message = error
    where = "The file" if row == FILE_ROW else f"Row {row}"
    return f"{where}, {name}: {message}" if name else f"{where}: {message}"


def read_sample(data: bytes, filename: str, *, client_groups: Iterable[str]) -> list[SampleCase]:
    """The sample's cases in file order, or SampleInvalid naming every problem (nothing is
    returned when there is any). `client_groups` are the groups a case may belong to."""
    groups = frozenset(client_groups)
    extension = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if extension == "csv":
        rows = _csv_rows(data)
    elif extension == "xlsx":
        rows = _xlsx_rows(data)
    else:
        raise SampleInvalid([(FILE_ROW, "", "must be a .csv or .xlsx file")])
    return _cases(rows, groups)


def _csv_rows(data: bytes) -> list[list[object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SampleInvalid([(FILE_ROW, "", "is not UTF-8 text (save the CSV as UTF-8)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return [list(row) for row in reader]
    except csv.Error as problem:
        raise SampleInvalid([(reader.line_num, "", f"is not valid CSV ({problem})")]) from None


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook  # only an XLSX sample needs it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise SampleInvalid([(FILE_ROW, "", "is not an XLSX workbook")]) from None
    try:
        if not book.worksheets:
            return []
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a spreadsheet's reference 1001 arrives as 1001.0
    return str(value).strip()


def _number(value: object) -> tuple[Decimal | None, str | None]:
    """(the cell as a Decimal, None) or (None, why it is not a usable number)."""
    if _blank(value):
        return None, "is missing"
    if isinstance(value, bool):
        return None, f"is not a number ({value!r})"
    if isinstance(value, (int, float, Decimal)):
        text = str(value)  # a float's shortest repr: 12.3 stays 12.3, never 12.2999…
    else:
        text = str(value).strip().removeprefix("£").replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, f"is not a number ({_text(value)!r})"
    if not number.is_finite():
        return None, f"must be a finite number (got {text})"
    if number.copy_abs() >= NUMBER_LIMIT:
        return None, "is too large (it must be less than 1,000,000,000)"
    if number < 0:
        return None, f"must not be negative (got {text})"
    return number, None


def _header(cells: Sequence[object]) -> tuple[list[str], list[tuple[int, str, str]]]:
    names = [_text(cell).lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # a spreadsheet's trailing empty columns
    errors: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            errors.append((1, f"column {position}", "has no name"))
        elif name in seen:
            errors.append((1, name, "appears twice"))
        elif name.startswith(SECTION_PREFIX) and len(name) > len(SECTION_PREFIX):
            pass
        elif name not in REQUIRED_COLUMNS and name not in OPTIONAL_COLUMNS:
            errors.append(
                (
                    1,
                    name,
                    "is not a column a sample has (reference, client_group, points, weekly_cost, "
                    "age_band, team, points_<section code>)",
                )
            )
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.append((1, name, "column is missing from the header row"))
    return names, errors


def _data_rows(rows: list[list[object]]) -> Iterator[tuple[int, list[object]]]:
    """(row number, cells) for every row after the header that is not wholly blank."""
    for number, cells in enumerate(rows[1:], start=2):
        if not all(_blank(cell) for cell in cells):
            yield number, cells


def _cases(rows: list[list[object]], groups: frozenset[str]) -> list[SampleCase]:
    if not rows or all(_blank(cell) for cell in rows[0]):
        raise SampleInvalid([(1, "", "the file is empty: a header row is needed")])
    names, errors = _header(rows[0])
    if errors:
        raise SampleInvalid(errors)
    sections = [name for name in names if name.startswith(SECTION_PREFIX)]
    cases: list[SampleCase] = []
    first_row: dict[str, int] = {}
    for number, cells in _data_rows(rows):
        if len(cells) > len(names) and not all(_blank(cell) for cell in cells[len(names) :]):
            errors.append((number, "", f"has more values than the header's {len(names)} columns"))
        row = dict(zip(names, list(cells) + [None] * (len(names) - len(cells)), strict=False))
        row_errors: list[tuple[int, str, str]] = []

        reference = _text(row["reference"])
        if not reference:
            row_errors.append((number, "reference", "is missing"))
        elif reference in first_row:
            used = f"'{reference}' is already used in row {first_row[reference]}"
            row_errors.append((number, "reference", used))
        else:
            first_row[reference] = number

        group = _text(row["client_group"])
        if not group:
            row_errors.append((number, "client_group", "is missing"))
        elif group not in groups:
            known = ", ".join(sorted(groups))
            row_errors.append((number, "client_group", f"'{group}' is not one of {known}"))

        numbers: dict[str, Decimal] = {}
        for name in ("points", "weekly_cost", *sections):
            if name in sections and _blank(row[name]):
                numbers[name] = Decimal(0)  # a section the case scored nothing in
                continue
            value, problem = _number(row[name])
            if problem:
                row_errors.append((number, name, problem))
            else:
                numbers[name] = value
        section_points = {name.removeprefix(SECTION_PREFIX): numbers.get(name) for name in sections}
        if (
            sections
            and "points" in numbers
            and all(value is not None for value in section_points.values())
        ):
            total = sum(section_points.values(), Decimal(0))
            if round2(total) != round2(numbers["points"]):
                row_errors.append(
                    (
                        number,
                        "points",
                        f"is {numbers['points']} but the points by section add up to {total}",
                    )
                )
        errors.extend(row_errors)
        if not errors:
            cases.append(
                SampleCase(
                    reference=reference,
                    client_group=group,
                    points=numbers["points"],
                    weekly_cost=numbers["weekly_cost"],
                    age_band=_text(row.get("age_band")),
                    team=_text(row.get("team")),
                    section_points=section_points,
                )
            )
    if errors:
        raise SampleInvalid(errors)
    if not cases:
        raise SampleInvalid([(2, "", "the file has a header row but no cases")])
    return cases
