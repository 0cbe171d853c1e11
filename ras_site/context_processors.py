from django.conf import settings


def service(request):
    """Names shown in every page's header and title."""
    return {"COUNCIL_NAME": settings.COUNCIL_NAME, "SERVICE_NAME": settings.SERVICE_NAME}
