from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from assessments.models import (
    AnswerOption,
    FundingTrigger,
    PersonAccess,
    Question,
    QuestionnaireVersion,
    Section,
    Team,
    User,
)


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


# --- Questionnaires: RAS administrators edit drafts here; anything else is read-only. -------


def _draft(version) -> bool:
    return version is None or version.status == QuestionnaireVersion.Status.DRAFT


class _DraftOnly:
    """Change and delete only while the questionnaire version is a draft."""

    def _version_of(self, obj):
        raise NotImplementedError

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _draft(self._version_of(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _draft(self._version_of(obj))

    def has_add_permission(self, request, *args):
        parent = args[0] if args else None
        return super().has_add_permission(request, *args) and _draft(self._version_of(parent))


class SectionInline(_DraftOnly, admin.TabularInline):
    model = Section
    fields = ["order", "code", "title", "help_text"]
    show_change_link = True
    extra = 0

    def _version_of(self, obj):
        return obj  # the parent is the version


class QuestionInline(_DraftOnly, admin.TabularInline):
    model = Question
    fields = ["order", "code", "text", "help_text"]
    show_change_link = True
    extra = 0

    def _version_of(self, obj):
        return obj.version if obj else None  # the parent is the section


class AnswerOptionInline(_DraftOnly, admin.TabularInline):
    model = AnswerOption
    fields = ["order", "label", "points", "triggers"]
    extra = 0

    def _version_of(self, obj):
        return obj.section.version if obj else None  # the parent is the question


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(_DraftOnly, SimpleHistoryAdmin):
    list_display = ["number", "title", "status", "published_at"]
    readonly_fields = ["number", "status", "published_at", "published_by", "retired_at"]
    fields = ["title", "notes", *readonly_fields]
    inlines = [SectionInline]

    def _version_of(self, obj):
        return obj

    def has_add_permission(self, request, *args):
        return False  # new versions come from "copy to a new draft" or an import


@admin.register(Section)
class SectionAdmin(_DraftOnly, SimpleHistoryAdmin):
    list_display = ["title", "version", "order"]
    list_filter = ["version"]
    inlines = [QuestionInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "version":  # new sections only in drafts
            kwargs["queryset"] = QuestionnaireVersion.objects.filter(status="draft")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _version_of(self, obj):
        return obj.version if obj else None


@admin.register(Question)
class QuestionAdmin(_DraftOnly, SimpleHistoryAdmin):
    list_display = ["text", "code", "section", "version"]
    list_filter = ["version"]
    search_fields = ["text", "code"]
    inlines = [AnswerOptionInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":  # new questions only in drafts
            kwargs["queryset"] = Section.objects.filter(version__status="draft")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _version_of(self, obj):
        return obj.version if obj else None


@admin.register(FundingTrigger)
class FundingTriggerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]

    def has_delete_permission(self, request, obj=None):
        return False  # past answers point at triggers
