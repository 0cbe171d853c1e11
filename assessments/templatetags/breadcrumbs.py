"""`{% breadcrumbs %}`: the one breadcrumb trail every page shows (templates/_breadcrumbs.html)."""

from django import template

register = template.Library()


@register.inclusion_tag("_breadcrumbs.html")
def breadcrumbs(*labels_and_urls):
    """`{% breadcrumbs "People" people_url person.full_name person_url "Assessment" %}`: pairs
    of (label, url) for the pages above, then the label of the page itself (not a link)."""
    *pairs, current = labels_and_urls
    if len(pairs) % 2:
        raise template.TemplateSyntaxError("breadcrumbs takes (label, url) pairs, then a label.")
    return {"crumbs": list(zip(pairs[::2], pairs[1::2], strict=True)), "current": current}
