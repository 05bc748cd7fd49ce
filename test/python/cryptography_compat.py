"""Lets Celery 5.6's certificate store run on Debian 12's python3-cryptography 38.

Celery 5.6 asks certificates for `not_valid_after_utc`, which cryptography added in 42; Debian
ships 38. Where it is missing, `has_expired` falls back to what Celery 5.2.6 does with the same
certificate (`not_valid_after`, a naive UTC datetime): the same check, not a weaker one. Celery
5.2.6 is left as it is.
"""
import datetime

from cryptography import x509


def install():
    if hasattr(x509.Certificate, 'not_valid_after_utc'):
        return
    from celery.security import certificate

    def has_expired(self):
        return datetime.datetime.utcnow() >= self._cert.not_valid_after

    certificate.Certificate.has_expired = has_expired
