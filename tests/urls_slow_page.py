"""The site's pages plus one whose query runs for 10 seconds (tests/test_database_limits.py)."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from ras_site.urls import urlpatterns as site_patterns


def slow_view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(10)")
    return HttpResponse("finished")


urlpatterns = [*site_patterns, path("slow/", slow_view, name="slow")]
