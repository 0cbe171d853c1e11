from django import template

from allocations.selectors.budgets import gbp as _gbp

register = template.Library()


@register.filter
def gbp(value):
    """`{{ amount|gbp }}` → £1,234.56 (empty for no amount)."""
    return "" if value is None or value == "" else _gbp(value)
