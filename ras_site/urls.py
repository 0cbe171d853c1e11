from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from assessments.views.accounts import email_settings_view
from ras_site import views

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
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
