"""A member of staff's own account settings: whether they are e-mailed about waiting work."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assessments.forms import EmailSettingsForm
from assessments.services.accounts import user_email_notifications_set

SAVED_ON = "You will be e-mailed when something waits for you."
SAVED_OFF = "You will not be e-mailed. What waits for you still shows on My work."


@require_http_methods(["GET", "POST"])
def email_settings_view(request):
    """The signed-in user's own setting (there is no one else's to reach: no id in the URL)."""
    form = EmailSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"email_notifications": request.user.email_notifications},
    )
    if form.is_valid():
        enabled = form.cleaned_data["email_notifications"]
        user_email_notifications_set(actor=request.user, user=request.user, enabled=enabled)
        messages.success(request, SAVED_ON if enabled else SAVED_OFF)
        return redirect("email_settings")
    return render(request, "registration/email_settings.html", {"form": form})
