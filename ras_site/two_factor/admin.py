"""Two-step sign-in in the admin: who has it on, and resetting it for someone who lost their
phone and their recovery codes. django-otp's own pages (which can show a secret's QR code and
the recovery codes) are replaced by this list, which shows neither."""

from __future__ import annotations

from contextlib import suppress

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ras_site.two_factor.services import two_factor_reset

for model in (TOTPDevice, StaticDevice):
    with suppress(NotRegistered):
        admin.site.unregister(model)


@admin.register(TOTPDevice)
class TwoStepSignInAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "last_used_at", "throttling_failure_count"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    fields = ["user", "name", "created_at", "last_used_at", "throttling_failure_count"]
    readonly_fields = fields
    actions = ["reset"]

    def has_add_permission(self, request):
        return False  # people set it up themselves, at accounts/two-factor/

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the reset action turns it off and records who did it

    def has_reset_permission(self, request):
        return request.user.has_perm("otp_totp.delete_totpdevice")

    @admin.action(
        permissions=["reset"],
        description="Reset two-step sign-in (they set it up again at their next sign-in)",
    )
    def reset(self, request, queryset):
        done = [
            device.user
            for device in queryset.select_related("user")
            if two_factor_reset(user=device.user, actor=request.user)
        ]
        self.message_user(
            request,
            f"Two-step sign-in reset for {len(done)} account{'s' if len(done) != 1 else ''}: "
            + ", ".join(user.username for user in done),
            messages.SUCCESS,
        )
