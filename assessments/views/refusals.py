"""What a refused action tells the user, said one way on every page: a service's
ValidationError (its messages) or a named error (its own words) becomes an error message above
the page the user is sent back to. Errors that belong next to a field go on the form instead
(`assessments.forms.add_service_errors`)."""

from __future__ import annotations

from django.contrib import messages


def refusal_text(refusal: Exception) -> str:
    return " ".join(getattr(refusal, "messages", None) or [str(refusal)])


def refuse(request, refusal: Exception) -> None:
    messages.error(request, refusal_text(refusal))
