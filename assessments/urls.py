from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("", views.person_list_view, name="person_list"),
    path("new/", views.person_create_view, name="person_create"),
    path("<int:pk>/", views.person_detail_view, name="person_detail"),
    path("<int:pk>/edit/", views.person_edit_view, name="person_edit"),
    path("<int:pk>/access-log/", views.person_access_log_view, name="person_access_log"),
]
