from django.urls import path

from panels import views

app_name = "panels"

urlpatterns = [
    path("my-work/", views.my_work_view, name="my_work"),
    path("panel/", views.meeting_list_view, name="meeting_list"),
    path("panel/meetings/new/", views.meeting_create_view, name="meeting_create"),
    path("panel/meetings/<int:pk>/", views.meeting_detail_view, name="meeting_detail"),
    path("panel/meetings/<int:pk>/agenda/", views.meeting_schedule_view, name="meeting_schedule"),
    path(
        "panel/meetings/<int:pk>/attendance/",
        views.meeting_attendance_view,
        name="meeting_attendance",
    ),
    path(
        "panel/meetings/<int:pk>/substitute/",
        views.meeting_substitute_view,
        name="meeting_substitute",
    ),
    path(
        "panel/meetings/<int:pk>/agenda.pdf",
        views.meeting_document_view,
        {"kind": "agenda"},
        name="meeting_agenda_pdf",
    ),
    path(
        "panel/meetings/<int:pk>/minutes.pdf",
        views.meeting_document_view,
        {"kind": "minutes"},
        name="meeting_minutes_pdf",
    ),
    path("panel/meetings/<int:pk>/cancel/", views.meeting_cancel_view, name="meeting_cancel"),
    path("panel/referrals/<int:pk>/move/", views.referral_move_view, name="referral_move"),
    path(
        "panel/referrals/<int:pk>/conflicts/<int:conflict_pk>/withdraw/",
        views.conflict_withdraw_view,
        name="conflict_withdraw",
    ),
    path("panel/referrals/<int:pk>/", views.referral_detail_view, name="referral_detail"),
    path("panel/referrals/<int:pk>/decide/", views.referral_decide_view, name="referral_decide"),
    path(
        "panel/referrals/<int:pk>/conflict/",
        views.referral_conflict_view,
        name="referral_conflict",
    ),
]
