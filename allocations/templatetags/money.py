from django import template

from allocations.selectors.budgets import gbp as _gbp

register = template.Library()


@register.filter
def gbp(value):
    """`{{ amount|gbp }}` → £1,234.56 (empty for no amount)."""
    return "" if value is None or value == "" else _gbp(value)


@register.filter
def result_apart(value):
    """`{{ "£570.00 per year ÷ 52 = £10.96 a week"|result_apart }}` → the same with its result on
    a line of its own ("…÷ 52\\n= £10.96 a week"), for a narrow column that keeps newlines
    (pre-line); each operator is held to its number by a no-break space, so a long sum wraps
    between its terms ("× 12", "÷ 52"), never between an operator and its number."""
    text = str(value).replace(" = ", "\n= ")
    return text.replace(" × ", " ×\u00a0").replace(" ÷ ", " ÷\u00a0")
