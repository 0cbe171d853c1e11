"""Pages for RAS policy versions: the list, one version, drafting, approving and copying."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.forms import PolicyForm
from allocations.models import RasPolicy
from allocations.permissions import POLICY_ADD, POLICY_APPROVE, POLICY_CHANGE, POLICY_REPRICE
from allocations.selectors.policies import (
    policy_can_approve,
    policy_get_for_user,
    policy_in_force_on,
    policy_list,
)
from allocations.selectors.repricing import (
    policy_impact_summary,
    policy_impact_visible,
    repricing_refusal,
)
from allocations.services.policies import (
    PolicyNotDraft,
    policy_approve,
    policy_copy_to_draft,
    policy_create_draft,
    policy_update_draft,
)
from assessments.forms import add_service_errors
from assessments.selectors.history import object_history
from assessments.views.refusals import refuse


@require_http_methods(["GET"])
def policy_list_view(request):
    today = timezone.localdate()
    return render(
        request,
        "allocations/policies/list.html",
        {
            "policies": policy_list(user=request.user),
            "in_force": policy_in_force_on(today),
            "can_add": request.user.has_perm(POLICY_ADD),
        },
    )


@require_http_methods(["GET"])
def policy_detail_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    user = request.user
    see_impact = policy_impact_visible(user)
    can_approve = policy_can_approve(user=user, policy=policy)  # a query: ask once
    return render(
        request,
        "allocations/policies/detail.html",
        {
            "policy": policy,
            "in_force": policy_in_force_on(timezone.localdate()),
            "can_edit": user.has_perm(POLICY_CHANGE) and policy.is_draft,
            "can_approve": can_approve,
            "approver_touched": policy.is_draft
            and user.has_perm(POLICY_APPROVE)
            and not can_approve,
            "can_copy": user.has_perm(POLICY_ADD),
            "can_reprice": user.has_perm(POLICY_REPRICE) and repricing_refusal(policy) is None,
            "runs": policy.runs.select_related("created_by"),
            "history": object_history(policy),
            "can_see_impact": see_impact,
            # A draft's approver sees what it would do before approving it (issue 11); the
            # summary is kept until something it reads changes.
            "impact": policy_impact_summary(user=user, policy=policy)
            if see_impact and policy.is_draft
            else None,
        },
    )


@require_http_methods(["GET", "POST"])
def policy_edit_view(request, pk: int | None = None):
    policy = policy_get_for_user(user=request.user, pk=pk) if pk else None
    if not request.user.has_perm(POLICY_CHANGE if policy else POLICY_ADD) or (
        policy and not policy.is_draft
    ):
        raise PermissionDenied("Only RAS administrators edit draft policy versions.")
    form = PolicyForm(request.POST or None, instance=policy or RasPolicy())
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if policy:
                policy = policy_update_draft(actor=request.user, policy=policy, data=data)
            else:
                policy = policy_create_draft(actor=request.user, data=data)
        except ValidationError as error:
            add_service_errors(form, error)
        except PolicyNotDraft as refusal:
            refuse(request, refusal)
        else:
            messages.success(request, f"Draft saved: {policy}. It needs approval by someone else.")
            return redirect("allocations:policy_detail", pk=policy.pk)
    return render(request, "allocations/policies/form.html", {"form": form, "policy": policy})


@require_http_methods(["POST"])
def policy_approve_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    try:
        policy_approve(actor=request.user, policy=policy)
    except (PolicyNotDraft, ValidationError) as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, f"{policy} is approved. It is in force from its date.")
    return redirect("allocations:policy_detail", pk=policy.pk)


@require_http_methods(["POST"])
def policy_copy_view(request, pk: int):
    policy = policy_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(POLICY_ADD):
        raise PermissionDenied("Only RAS administrators draft policy versions.")
    copy = policy_copy_to_draft(actor=request.user, policy=policy)
    messages.success(request, f"A new draft has been made from {policy}.")
    return redirect("allocations:policy_edit", pk=copy.pk)
