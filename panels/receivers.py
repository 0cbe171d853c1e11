from django.dispatch import receiver

from allocations.signals import plan_referred_to_panel, plan_withdrawn_from_panel
from panels.services import referral_create, referral_withdraw


@receiver(plan_referred_to_panel, dispatch_uid="panels.referral_on_plan_submission")
def create_referral(sender, plan, reasons, actor, **kwargs):
    referral_create(plan=plan, reasons=reasons, actor=actor)


@receiver(plan_withdrawn_from_panel, dispatch_uid="panels.referral_withdrawn_with_plan")
def withdraw_referral(sender, plan, reason, actor, **kwargs):
    referral_withdraw(plan=plan, reason=reason, actor=actor)
