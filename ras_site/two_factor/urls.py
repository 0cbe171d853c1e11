from django.urls import path

from ras_site.two_factor import views

app_name = "two_factor"

urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("code/", views.verify_view, name="verify"),
    path("set-up/", views.enrol_view, name="enrol"),
    path("recovery-codes/", views.recovery_codes_view, name="recovery_codes"),
    path("recovery-codes/new/", views.recovery_codes_new_view, name="recovery_codes_new"),
    path("turn-off/", views.turn_off_view, name="turn_off"),
]
