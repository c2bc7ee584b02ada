"""A small SMTP server on 127.0.0.1 that records the mails it accepts.

Enough of the protocol for `smtplib`: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT.
`script` holds the replies to give at the end of DATA (e.g. 451, a temporary refusal),
one per mail; `password` makes AUTH PLAIN required and checked.
"""

from __future__ import annotations

import base64
import email
import email.policy
import socketserver
import threading
from dataclasses import dataclass


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage
    user: str | None


class SmtpServer:
    def __init__(self, user: str | None = None, password: str | None = None):
        self.mails: list[Mail] = []
        self.script: list[int] = []
        self.user, self.password = user, password
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self):  # noqa: C901 - one small state machine
                self.reply("220 test-smtp ready")
                sender, recipients, user = "", [], None
                while line := self.rfile.readline():
                    command = line.decode().rstrip("\r\n")
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-test-smtp" if receiver.password else "250 test-smtp")
                        if receiver.password:
                            self.reply("250 AUTH PLAIN")
                    elif verb == "AUTH":
                        name, secret = base64.b64decode(command.split()[2]).decode().split("\0")[-2:]
                        if (name, secret) == (receiver.user, receiver.password):
                            user = name
                            self.reply("235 authenticated")
                        else:
                            self.reply("535 authentication failed")
                    elif verb == "MAIL":
                        if receiver.password and user is None:
                            self.reply("530 authentication required")
                            continue
                        sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip(" <>"))
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        code = receiver.script.pop(0) if receiver.script else 250
                        if code == 250:
                            message = email.message_from_bytes(data, policy=email.policy.default)
                            receiver.mails.append(Mail(sender, recipients, message, user))
                        self.reply(f"{code} {'queued' if code == 250 else 'try again later'}")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
