"""A small SMTP server on a loopback port: the real `smtplib` client of backend/services/mail.py talks to it.

It speaks just enough of RFC 5321 for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no STARTTLS,
no AUTH) and keeps every accepted message, parsed, in `messages`. `refuse = True` answers every MAIL with a
451 (a mail server that is up but refuses for now).
"""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 fake-smtp ready")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self._reply("250-fake-smtp")
                self._reply("250 8BITMIME")
            elif verb == "HELO":
                self._reply("250 fake-smtp")
            elif verb == "MAIL":
                if self.server.owner.refuse:
                    self._reply("451 try again later")
                    continue
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CR><LF>.<CR><LF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                message = message_from_bytes(b"".join(lines), policy=policy.default)
                self.server.owner.received(sender, recipients, message)  # type: ignore[arg-type]
                self._reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FakeSMTP


class FakeSMTP:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refuse = False
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeSMTP:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, sender: str, recipients: list[str], message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        with self._lock:
            self.messages.append({"from": sender, "to": recipients, "subject": str(message["Subject"]), "body": text})
