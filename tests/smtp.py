"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port) and the fixture that points
Django's e-mail at it.

``smtp_server`` yields an object with ``.host``, ``.port`` and ``.messages`` (each received mail
parsed as an :class:`email.message.EmailMessage`, with ``.envelope_to`` the RCPT TO addresses);
``.wait_for(n)`` waits for the n-th message (a send is synchronous, so it is there already when the
job has run; the wait covers the server's own thread). Registered as a plugin in tests/conftest.py.
"""

import email
import email.policy
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.utils import DNS_NAME

from tests.servers import free_port


class _Collect:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        with self.server.arrived:
            self.server.messages.append(msg)
            self.server.arrived.notify_all()
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list = []
        self.arrived = threading.Condition()
        self.controller = Controller(_Collect(self), hostname=self.host, port=self.port)

    def wait_for(self, n: int, timeout: float = 10) -> list:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= n, timeout=timeout)
        return self.messages



def point_mail_at(settings, host: str, port: int) -> None:
    """Django's SMTP e-mail, at ``host:port``, without TLS or login (pytest-django's ``settings``)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_server(settings, monkeypatch):
    """A real SMTP server on loopback that Django's e-mail sends to for the test's duration."""
    monkeypatch.setattr(DNS_NAME, "_fqdn", "diemcau.test", raising=False)  # no slow getfqdn() per connection
    server = SMTPServer()
    server.controller.start()
    point_mail_at(settings, server.host, server.port)
    try:
        yield server
    finally:
        server.controller.stop()
