import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ras_site.settings")
application = get_wsgi_application()

# Pages run under the service's own database limits (ras_site/db_limits.py); background jobs
# and commands, which do not load this module, set theirs per transaction.
from ras_site.db_limits import page_limits_install  # noqa: E402

page_limits_install()
