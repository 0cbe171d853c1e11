from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from assessments.views.accounts import email_settings_view
from ras_site import views
from ras_site.two_factor.middleware import OWES_CODE, OWES_SETUP, two_factor_step

admin.site.site_header = "Personal budgets: administration"
admin.site.site_title = "Personal budgets admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Reachable half-way through signing in, to give up and sign in as someone else.
    path(
        "accounts/logout/",
        two_factor_step(OWES_CODE, OWES_SETUP)(auth_views.LogoutView.as_view()),
        name="logout",
    ),
    path("accounts/two-factor/", include("ras_site.two_factor.urls")),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/e-mail/", email_settings_view, name="email_settings"),
    path("", include("assessments.urls")),
    path("", include("allocations.urls")),
    path("", include("panels.urls")),
    path("admin/", admin.site.urls),
]
