"""Reading a calibration sample: CSV and XLSX, every bad cell reported by row and field, and
nothing returned from a file with any problem. No database."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from allocations.calibration.samples import SampleCase, SampleInvalid, describe, read_sample

GROUPS = ("older_people", "physical_disability", "learning_disability", "mental_health")


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def xlsx_bytes(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(data: bytes, filename: str = "sample.csv") -> list[SampleCase]:
    return read_sample(data, filename, client_groups=GROUPS)


def errors_of(data: bytes, filename: str = "sample.csv") -> list[tuple[int, str, str]]:
    with pytest.raises(SampleInvalid) as caught:
        read(data, filename)
    return caught.value.errors


def test_a_good_csv_gives_its_cases_in_order_with_a_bom_and_columns_in_any_order():
    data = csv_bytes(
        "weekly_cost,points,reference,client_group,team,age_band",
        "60.00,10,A1,older_people,north,85+",
        "110.50,20.5,A2,mental_health,,",
        bom=True,
    )

    assert read(data) == [
        SampleCase("A1", "older_people", Decimal("10"), Decimal("60.00"), "85+", "north"),
        SampleCase("A2", "mental_health", Decimal("20.5"), Decimal("110.50")),
    ]


def test_section_points_come_from_points_columns_and_must_add_up_to_the_points():
    data = csv_bytes(
        "reference,client_group,points,weekly_cost,points_mobility,points_meals",
        "A1,older_people,10,60,4,6",
        "A2,older_people,7.5,60,7.5,",  # a blank section scored nothing
        "A3,older_people,10,60,4,5",  # 9 ≠ 10
    )

    assert errors_of(data) == [(4, "points", "is 10 but the points by section add up to 9")]
    cases = read(data.replace(b"A3,older_people,10,60,4,5", b"A3,older_people,9,60,4,5"))
    assert cases[0].section_points == {"mobility": Decimal("4"), "meals": Decimal("6")}
    assert cases[1].section_points == {"mobility": Decimal("7.5"), "meals": Decimal("0")}


def test_every_bad_cell_is_reported_with_its_row_and_field_and_nothing_is_returned():
    data = csv_bytes(
        "reference,client_group,points,weekly_cost",
        "A1,older_people,10,60",
        ",older_people,ten,-5",  # row 3: no reference, points not a number, negative cost
        "A1,martians,NaN,1e12",  # row 4: duplicate, unknown group, NaN, too large
        "A4,,Infinity,",  # row 5: group missing, infinite points, cost missing
    )

    errors = errors_of(data)

    assert [(row, name) for row, name, _ in errors] == [
        (3, "reference"),
        (3, "points"),
        (3, "weekly_cost"),
        (4, "reference"),
        (4, "client_group"),
        (4, "points"),
        (4, "weekly_cost"),
        (5, "client_group"),
        (5, "points"),
        (5, "weekly_cost"),
    ]
    messages = {(row, name): message for row, name, message in errors}
    assert messages[3, "points"] == "is not a number ('ten')"
    assert messages[3, "weekly_cost"] == "must not be negative (got -5)"
    assert messages[4, "reference"] == "'A1' is already used in row 2"
    assert "'martians' is not one of" in messages[4, "client_group"]
    assert "finite" in messages[4, "points"]
    assert "too large" in messages[4, "weekly_cost"]
    assert messages[5, "weekly_cost"] == "is missing"
    assert describe((3, "points", "is missing")) == "Row 3, points: is missing"


def test_the_header_is_checked_unknown_and_missing_columns_refused():
    errors = errors_of(csv_bytes("reference,client_group,points,cost,notes", "A1,older_people,1,2"))

    assert [(row, name) for row, name, _ in errors] == [
        (1, "cost"),
        (1, "notes"),
        (1, "weekly_cost"),
    ]


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "s.csv", (1, "", "the file is empty: a header row is needed")),
        (
            csv_bytes("reference,client_group,points,weekly_cost", ","),
            "s.csv",
            (2, "", "the file has a header row but no cases"),
        ),
        (b"\xff\xfe", "s.csv", (0, "", "is not UTF-8 text (save the CSV as UTF-8)")),
        (b"anything", "s.ods", (0, "", "must be a .csv or .xlsx file")),
        (b"not a zip", "s.xlsx", (0, "", "is not an XLSX workbook")),
    ],
)
def test_empty_and_unreadable_files_are_refused(data, filename, expected):
    assert errors_of(data, filename) == [expected]


def test_an_xlsx_sample_reads_its_first_sheet_numbers_as_decimals():
    data = xlsx_bytes(
        ("Reference", "client_group", "points", "weekly_cost", "points_mobility", "points_meals"),
        (1001, "older_people", 12.5, 60.1, 5, 7.5),
        ("A2", "learning_disability", 30, 190, 30, None),
        (None, None, None, None, None, None),  # a blank row is skipped
    )

    assert read(data, "Sample.XLSX") == [
        SampleCase(
            "1001",
            "older_people",
            Decimal("12.5"),
            Decimal("60.1"),
            section_points={"mobility": Decimal("5"), "meals": Decimal("7.5")},
        ),
        SampleCase(
            "A2",
            "learning_disability",
            Decimal("30"),
            Decimal("190"),
            section_points={"mobility": Decimal("30"), "meals": Decimal("0")},
        ),
    ]


def test_a_bad_xlsx_is_reported_by_row_and_field_and_nothing_is_returned():
    data = xlsx_bytes(
        ("reference", "client_group", "points", "weekly_cost"),
        ("A1", "older_people", 10, 60),
        ("A2", "older_people", "lots", 60),
        ("A1", "older_people", 10, True),
        ("A4", "aliens", -1, 60),
    )

    errors = errors_of(data, "sample.xlsx")

    assert [(row, name) for row, name, _ in errors] == [
        (3, "points"),
        (4, "reference"),
        (4, "weekly_cost"),
        (5, "client_group"),
        (5, "points"),
    ]
    assert errors[0][2] == "is not a number ('lots')"


def test_a_row_with_more_values_than_the_header_is_refused():
    errors = errors_of(
        csv_bytes("reference,client_group,points,weekly_cost", "A1,older_people,1,2,surprise")
    )

    assert errors == [(2, "", "has more values than the header's 4 columns")]
