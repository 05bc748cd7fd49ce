"""The exceptions of an imaginary payments app, which Nest tasks raise by name.

A Nest task throws `new PythonException('payments.PaymentDeclined', 'card refused', 42)` and
Python code that imported this module catches it as `except payments.PaymentDeclined`: Celery
looks the class up in the modules the client has imported. interop_tasks.py raises it from a
Python task too, so both workers fail the same way.
"""


class PaymentDeclined(Exception):
    """A card payment was refused."""


class Card:
    class Expired(Exception):
        """A nested class: Celery stores its __qualname__, `Card.Expired`."""
