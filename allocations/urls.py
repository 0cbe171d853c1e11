from django.urls import path

from allocations.views import (
    assessment_record,
    budgets,
    calibration,
    calibration_charts,
    letter_batches,
    letters,
    plans,
    policies,
    records,
    report_packs,
    report_pipeline,
    report_settings,
    reports,
    repricing,
    reviews,
    rules,
)

app_name = "allocations"

urlpatterns = [
    path("rules/", rules.rules_view, name="rules"),
    # A submitted assessment (an assessments record) as a PDF for the person's records.
    path(
        "assessments/<int:pk>/pdf/",
        assessment_record.assessment_pdf_view,
        name="assessment_pdf",
    ),
    path("policies/", policies.policy_list_view, name="policy_list"),
    path("policies/new/", policies.policy_edit_view, name="policy_create"),
    path("policies/<int:pk>/", policies.policy_detail_view, name="policy_detail"),
    path("policies/<int:pk>/edit/", policies.policy_edit_view, name="policy_edit"),
    path("policies/<int:pk>/approve/", policies.policy_approve_view, name="policy_approve"),
    path("policies/<int:pk>/copy/", policies.policy_copy_view, name="policy_copy"),
    path("policies/<int:pk>/repricing/", repricing.repricing_view, name="repricing"),
    path(
        "policies/<int:pk>/repricing/preview/",
        repricing.repricing_preview_start_view,
        name="repricing_preview_start",
    ),
    path(
        "repricing/previews/<int:pk>/status.json",
        repricing.repricing_preview_status_view,
        name="repricing_preview_status",
    ),
    path("policies/<int:pk>/impact/", repricing.policy_impact_view, name="policy_impact"),
    path(
        "questionnaires/<int:pk>/impact/",
        repricing.questionnaire_impact_view,
        name="questionnaire_impact",
    ),
    path("repricing/<int:pk>/", repricing.repricing_run_view, name="repricing_run"),
    path(
        "repricing/<int:pk>/status.json",
        repricing.repricing_run_status_view,
        name="repricing_run_status",
    ),
    path("calibration/", calibration.sample_list_view, name="calibration_samples"),
    path("calibration/caseload/", calibration.sample_caseload_view, name="calibration_caseload"),
    path("calibration/<int:pk>/", calibration.sample_detail_view, name="calibration_sample"),
    path("calibration/runs/<int:pk>/", calibration.run_detail_view, name="calibration_run"),
    path(
        "calibration/runs/<int:pk>/adopt-weights/",
        calibration.run_adopt_weights_view,
        name="calibration_adopt_weights",
    ),
    path("calibration/runs/<int:pk>/adopt/", calibration.run_adopt_view, name="calibration_adopt"),
    path(
        "calibration/runs/<int:pk>/charts/<slug:name>.svg",
        calibration_charts.run_chart_view,
        name="calibration_chart",
    ),
    path("budgets/decisions/", budgets.decisions_view, name="decisions"),
    path("budgets/<int:pk>/", budgets.budget_detail_view, name="budget_detail"),
    path("budgets/<int:pk>/decide/", budgets.budget_decide_view, name="budget_decide"),
    path("agreed/<int:pk>/", budgets.agreed_decide_view, name="agreed_decide"),
    # Reviews (issue 13, Care Act s.27).
    path("agreed/<int:pk>/review/", reviews.review_start_view, name="review_start"),
    path("reviews/<int:pk>/", reviews.review_detail_view, name="review_detail"),
    path("people/<int:pk>/plans/new/", plans.plan_start_view, name="plan_start"),
    path("plans/<int:pk>/", plans.plan_detail_view, name="plan_detail"),
    path("plans/<int:pk>/settings/", plans.plan_settings_view, name="plan_settings"),
    path("plans/<int:pk>/lines/add/", plans.plan_line_add_view, name="plan_line_add"),
    path(
        "plans/<int:pk>/lines/<int:line_id>/edit/", plans.plan_line_edit_view, name="plan_line_edit"
    ),
    path(
        "plans/<int:pk>/lines/<int:line_id>/remove/",
        plans.plan_line_remove_view,
        name="plan_line_remove",
    ),
    path("plans/<int:pk>/informal/add/", plans.plan_informal_add_view, name="plan_informal_add"),
    path(
        "plans/<int:pk>/informal/<int:item_id>/remove/",
        plans.plan_informal_remove_view,
        name="plan_informal_remove",
    ),
    path("plans/<int:pk>/submit/", plans.plan_submit_view, name="plan_submit"),
    path("plans/<int:pk>/authorise/", plans.plan_authorise_view, name="plan_authorise"),
    path("plans/<int:pk>/return/", plans.plan_return_view, name="plan_return"),
    path("people/<int:pk>/letters/issue/", letters.letter_issue_view, name="letter_issue"),
    path("letters/<int:pk>/download/", letters.letter_download_view, name="letter_download"),
    path("letters/<int:pk>/withdraw/", letters.letter_withdraw_view, name="letter_withdraw"),
    path("letters/batches/", letter_batches.letter_batch_list_view, name="letter_batches"),
    path("letters/batches/<int:pk>/", letter_batches.letter_batch_view, name="letter_batch"),
    path(
        "letters/batches/<int:pk>/status.json",
        letter_batches.letter_batch_status_view,
        name="letter_batch_status",
    ),
    path(
        "letters/batches/<int:pk>/letters.zip",
        letter_batches.letter_batch_zip_view,
        name="letter_batch_zip",
    ),
    path(
        "people/<int:pk>/budget/recalculate/",
        budgets.budget_recalculate_view,
        name="budget_recalculate",
    ),
    # Reports (issue 12): the pipeline's click-through list; the report settings.
    path(
        "reports/pipeline/<slug:stage>/",
        report_pipeline.report_pipeline_list_view,
        name="report_pipeline_list",
    ),
    path("reports/settings/", report_settings.report_settings_view, name="report_settings"),
    # Reports (issue 12): the dashboard and its exports and charts (wt-dashboard).
    path("reports/", reports.reports_view, name="reports"),
    path(
        "reports/table/<slug:slug>.csv",
        reports.report_table_csv_view,
        name="report_table_csv",
    ),
    path("reports/export.xlsx", reports.report_xlsx_view, name="report_xlsx"),
    path("reports/chart/<slug:slug>.svg", reports.report_chart_view, name="report_chart"),
    # The members' report pack (issue 12).
    path("reports/packs/", report_packs.report_pack_list_view, name="report_pack_list"),
    path("reports/packs/issue/", report_packs.report_pack_issue_view, name="report_pack_issue"),
    path(
        "reports/packs/<int:pk>/", report_packs.report_pack_detail_view, name="report_pack_detail"
    ),
    # The auditor's search across records and the access log (issue 13).
    path("records/", records.record_search_view, name="record_search"),
    path("records/access-log/", records.access_log_view, name="access_log"),
    path("records/access-log.csv", records.access_log_csv_view, name="access_log_csv"),
    path("reports/packs/<int:pk>.pdf", report_packs.report_pack_pdf_view, name="report_pack_pdf"),
]
