from django import template

from allocations.reports.formatting import cell_html, is_numeric

register = template.Library()


@register.simple_tag
def report_cell(cell, column):
    """`{% report_cell cell column %}`: the cell formatted for its column's kind."""
    return cell_html(cell, column.kind)


@register.filter
def numeric(column) -> bool:
    """`{% if column|numeric %}`: numbers are right-aligned."""
    return is_numeric(column.kind)
