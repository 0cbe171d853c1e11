from django.urls import path

from assessments.views import assessments, people, questionnaires

app_name = "assessments"

urlpatterns = [
    # People
    path("people/", people.person_list_view, name="person_list"),
    path("people/new/", people.person_create_view, name="person_create"),
    path("people/<int:pk>/", people.person_detail_view, name="person_detail"),
    path("people/<int:pk>/edit/", people.person_edit_view, name="person_edit"),
    path("people/<int:pk>/access-log/", people.person_access_log_view, name="person_access_log"),
    # Assessments
    path(
        "people/<int:pk>/assessments/start/",
        assessments.assessment_start_view,
        name="assessment_start",
    ),
    path("assessments/<int:pk>/", assessments.assessment_summary_view, name="assessment_summary"),
    path(
        "assessments/<int:pk>/step/<int:number>/",
        assessments.assessment_step_view,
        name="assessment_step",
    ),
    path(
        "assessments/<int:pk>/submit/", assessments.assessment_submit_view, name="assessment_submit"
    ),
    path(
        "assessments/<int:pk>/withdraw/",
        assessments.assessment_withdraw_view,
        name="assessment_withdraw",
    ),
    # Questionnaires
    path("questionnaires/", questionnaires.questionnaire_list_view, name="questionnaire_list"),
    path(
        "questionnaires/import/",
        questionnaires.questionnaire_import_view,
        name="questionnaire_import",
    ),
    path(
        "questionnaires/<int:pk>/",
        questionnaires.questionnaire_detail_view,
        name="questionnaire_detail",
    ),
    path(
        "questionnaires/<int:pk>/export/",
        questionnaires.questionnaire_export_view,
        name="questionnaire_export",
    ),
    path(
        "questionnaires/<int:pk>/publish/",
        questionnaires.questionnaire_publish_view,
        name="questionnaire_publish",
    ),
    path(
        "questionnaires/<int:pk>/retire/",
        questionnaires.questionnaire_retire_view,
        name="questionnaire_retire",
    ),
    path(
        "questionnaires/<int:pk>/copy/",
        questionnaires.questionnaire_copy_view,
        name="questionnaire_copy",
    ),
]
