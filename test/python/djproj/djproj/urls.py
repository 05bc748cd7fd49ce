# As celery-progress's README installs it: its JavaScript bar polls /celery-progress/<task_id>/.
from django.urls import include, path

urlpatterns = [
    path('celery-progress/', include('celery_progress.urls')),
]
