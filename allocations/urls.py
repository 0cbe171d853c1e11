from django.urls import path

from allocations import views

app_name = "allocations"

urlpatterns = [
    path("rules/", views.rules_view, name="rules"),
    path("policies/", views.policy_list_view, name="policy_list"),
    path("policies/new/", views.policy_edit_view, name="policy_create"),
    path("policies/<int:pk>/", views.policy_detail_view, name="policy_detail"),
    path("policies/<int:pk>/edit/", views.policy_edit_view, name="policy_edit"),
    path("policies/<int:pk>/approve/", views.policy_approve_view, name="policy_approve"),
    path("policies/<int:pk>/copy/", views.policy_copy_view, name="policy_copy"),
    path("policies/<int:pk>/repricing/", views.repricing_view, name="repricing"),
    path("repricing/<int:pk>/", views.repricing_run_view, name="repricing_run"),
    path(
        "repricing/<int:pk>/status.json",
        views.repricing_run_status_view,
        name="repricing_run_status",
    ),
    path("budgets/decisions/", views.decisions_view, name="decisions"),
    path("budgets/<int:pk>/", views.budget_detail_view, name="budget_detail"),
    path("budgets/<int:pk>/decide/", views.budget_decide_view, name="budget_decide"),
    path("agreed/<int:pk>/", views.agreed_decide_view, name="agreed_decide"),
    path("people/<int:pk>/plans/new/", views.plan_start_view, name="plan_start"),
    path("plans/<int:pk>/", views.plan_detail_view, name="plan_detail"),
    path("people/<int:pk>/letters/issue/", views.letter_issue_view, name="letter_issue"),
    path("letters/<int:pk>/download/", views.letter_download_view, name="letter_download"),
    path("letters/<int:pk>/withdraw/", views.letter_withdraw_view, name="letter_withdraw"),
    path("letters/batches/", views.letter_batch_list_view, name="letter_batches"),
    path("letters/batches/<int:pk>/", views.letter_batch_view, name="letter_batch"),
    path(
        "letters/batches/<int:pk>/status.json",
        views.letter_batch_status_view,
        name="letter_batch_status",
    ),
    path(
        "letters/batches/<int:pk>/letters.zip", views.letter_batch_zip_view, name="letter_batch_zip"
    ),
    path(
        "people/<int:pk>/budget/recalculate/",
        views.budget_recalculate_view,
        name="budget_recalculate",
    ),
]
