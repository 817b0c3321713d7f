"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): the fixture ``smtp_server``.

``smtp_server.host``, ``.port`` and ``.messages`` (each an ``email.message.EmailMessage`` as received);
the test points Django's SMTP backend at it (``settings.EMAIL_HOST`` / ``EMAIL_PORT``).
"""

import email
import email.policy

import pytest
from aiosmtpd.controller import Controller

from tests.servers import free_port


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, controller: Controller, inbox: _Inbox):
        self.host, self.port, self._inbox = controller.hostname, controller.port, inbox

    @property
    def messages(self):
        return self._inbox.messages


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(controller, inbox)
    finally:
        controller.stop()
