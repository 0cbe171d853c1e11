"""How plans and agreed budgets read in templates: a line's amount ("14 hours × £16.50") and
how an agreed budget is managed, with the direct payment net of the person's contribution."""

from django import template

from allocations.costing import Managed, agreed_managed
from allocations.units import amount_text

register = template.Library()


@register.filter
def line_amount(line) -> str:
    """`{{ line|line_amount }}` → "14 hours × £16.50" (without how often)."""
    return amount_text(line.quantity, line.unit, line.unit_cost_gbp)


@register.filter
def managed(agreed) -> Managed:
    """`{% with m=agreed|managed %}`: the agreed budget's split and net direct payment."""
    return agreed_managed(agreed)
