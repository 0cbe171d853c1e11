from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` — a dict look-up the template language lacks."""
    return mapping.get(key) if mapping else None


@register.filter
def points(value):
    """Points as people write them: 4, 4.5, 1.25 (no trailing zeros)."""
    if value is None or value == "":
        return ""
    return format(Decimal(value).normalize(), "f")
