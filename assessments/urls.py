from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    # People
    path("people/", views.person_list_view, name="person_list"),
    path("people/new/", views.person_create_view, name="person_create"),
    path("people/<int:pk>/", views.person_detail_view, name="person_detail"),
    path("people/<int:pk>/edit/", views.person_edit_view, name="person_edit"),
    path("people/<int:pk>/access-log/", views.person_access_log_view, name="person_access_log"),
    # Assessments
    path(
        "people/<int:pk>/assessments/start/",
        views.assessment_start_view,
        name="assessment_start",
    ),
    path("assessments/<int:pk>/", views.assessment_summary_view, name="assessment_summary"),
    path(
        "assessments/<int:pk>/step/<int:number>/",
        views.assessment_step_view,
        name="assessment_step",
    ),
    path("assessments/<int:pk>/submit/", views.assessment_submit_view, name="assessment_submit"),
    path(
        "assessments/<int:pk>/withdraw/",
        views.assessment_withdraw_view,
        name="assessment_withdraw",
    ),
    # Questionnaires
    path("questionnaires/", views.questionnaire_list_view, name="questionnaire_list"),
    path("questionnaires/import/", views.questionnaire_import_view, name="questionnaire_import"),
    path("questionnaires/<int:pk>/", views.questionnaire_detail_view, name="questionnaire_detail"),
    path(
        "questionnaires/<int:pk>/export/",
        views.questionnaire_export_view,
        name="questionnaire_export",
    ),
    path(
        "questionnaires/<int:pk>/publish/",
        views.questionnaire_publish_view,
        name="questionnaire_publish",
    ),
    path(
        "questionnaires/<int:pk>/retire/",
        views.questionnaire_retire_view,
        name="questionnaire_retire",
    ),
    path("questionnaires/<int:pk>/copy/", views.questionnaire_copy_view, name="questionnaire_copy"),
]
