from django.dispatch import receiver

from allocations.signals import plan_referred_to_panel
from panels.services import referral_create


@receiver(plan_referred_to_panel, dispatch_uid="panels.referral_on_plan_submission")
def create_referral(sender, plan, reasons, actor, **kwargs):
    referral_create(plan=plan, reasons=reasons, actor=actor)
