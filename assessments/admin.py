from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from assessments.models import PersonAccess, Team, User


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is deleted; a team that closes keeps its history


@admin.register(User)
class UserAdmin(BaseUserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "first_name", "last_name", "team", "is_active", "is_staff"]
    list_filter = ["team", "groups", "is_active", "is_staff"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("Team", {"fields": ["team"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: history and access logs point at users


@admin.register(PersonAccess)
class PersonAccessAdmin(admin.ModelAdmin):
    list_display = ["accessed_at", "user", "person", "page"]
    list_filter = ["page"]
    search_fields = ["user__username", "person__reference"]
    list_select_related = ["user", "person"]
    date_hierarchy = "accessed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
