# What a Django project sharing an environment with Nest services has, read the Celery way
# (namespace 'CELERY'). The tests override what must be unique per test run from the environment.
import os

SECRET_KEY = 'test-only'
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ['djapp']
DATABASES = {}

# Exactly the setting our users' projects have: kombu fills in the password (guest) and vhost (/).
CELERY_BROKER_URL = os.environ.get('DJANGO_CELERY_BROKER_URL', 'amqp://guest@localhost')
CELERY_RESULT_BACKEND = os.environ.get('DJANGO_CELERY_RESULT_BACKEND', 'rpc://')
CELERY_TASK_DEFAULT_QUEUE = os.environ.get('DJANGO_CELERY_TASK_DEFAULT_QUEUE', 'celery')

# celery-progress's view (celery_progress.urls), which its JavaScript bar polls.
ROOT_URLCONF = 'djproj.urls'
ALLOWED_HOSTS = ['testserver', 'localhost']
