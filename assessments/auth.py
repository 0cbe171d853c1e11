"""The sign-in backend: Django's ModelBackend, with the two reads every page makes cut to one
each. The signed-in user is loaded with their team (every page's menu names it), and their
permissions — their own and their roles' — come in one query, not two."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from assessments.models import User


class AccountBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("team").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        """The user's own permissions and their groups' (roles'), in one query; cached on the
        user for the request, as ModelBackend caches them."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = Permission.objects.filter(
                    Q(pk__in=user_obj.user_permissions.values("pk"))
                    | Q(pk__in=Permission.objects.filter(group__user=user_obj).values("pk"))
                )
            rows = perms.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache
