from celery import shared_task


@shared_task
def double(x):
    return x * 2
