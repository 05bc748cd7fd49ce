# The project with django-celery-beat installed and a PostgreSQL database (DJANGO_DATABASE_URL,
# postgresql://user@host:port/name), as a project whose admins edit periodic tasks has it.
import os
from urllib.parse import urlparse

from .settings import *  # noqa: F401,F403

INSTALLED_APPS = ['djapp', 'django_celery_beat']
_url = urlparse(os.environ['DJANGO_DATABASE_URL'])
DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': _url.path.lstrip('/'),
        'USER': _url.username or '',
        'PASSWORD': _url.password or '',
        'HOST': _url.hostname or '',
        'PORT': str(_url.port or ''),
    }
}
TIME_ZONE = 'UTC'
