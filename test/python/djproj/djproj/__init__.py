# A Django 3.2 project configured the way our users configure Celery (the Celery docs' "First steps
# with Django"): the app is loaded with Django so shared_task binds to it.
from .celery import app as celery_app

__all__ = ('celery_app',)
