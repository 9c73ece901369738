#!/usr/bin/python3
"""An SMTP sink for telemeet's email tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1:PORT and saves every message it accepts into OUT_DIR as <n>.eml (the raw
DATA) and <n>.json: the envelope (mail_from, rcpt_tos, auth_user) and the message as Python's
email parser reads it (subject, from, to, message_id, date, text, html, attachments with their
content type, filename, method and content). The .json is written last, atomically, so a reader
that sees it sees a complete message.

  smtp_sink.py --port 2525 --out /tmp/x/mail [--user u --password p]
               [--tls-cert c.pem --tls-key k.pem [--implicit-tls]] [--reject bad@example.com]

With --user, AUTH (PLAIN/LOGIN) is required; with --tls-cert, STARTTLS is required. A recipient
named by --reject is refused with 550. Prints "ready" once listening; stops on SIGTERM/SIGINT.
"""

import argparse
import email
import json
import os
import signal
import ssl
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, out_dir, reject):
        self.out_dir = out_dir
        self.reject = set(reject)
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 <%s>: recipient rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        attachments = []
        for part in msg.iter_attachments():
            content = part.get_content()
            if isinstance(content, bytes):
                content = content.decode("utf-8", "replace")
            attachments.append({
                "content_type": part.get_content_type(),
                "method": part.get_param("method") or "",
                "filename": part.get_filename() or "",
                "content": content,
            })
        auth = session.auth_data
        if isinstance(auth, bytes):
            auth = auth.decode("utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": auth or "",
            "tls": (session.ssl is not None
                    or server.transport.get_extra_info("ssl_object") is not None),
            "subject": str(msg["subject"] or ""),
            "from": str(msg["from"] or ""),
            "to": str(msg["to"] or ""),
            "message_id": str(msg["message-id"] or ""),
            "date": str(msg["date"] or ""),
            "defects": [type(d).__name__ for d in msg.defects],
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "attachments": attachments,
        }
        with open(os.path.join(self.out_dir, "%d.eml" % n), "wb") as f:
            f.write(raw)
        tmp = os.path.join(self.out_dir, ".%d.json.tmp" % n)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out_dir, "%d.json" % n))
        return "250 2.0.0 Ok: queued as SINK%d" % n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--reject", action="append", default=[])
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    kwargs = {"auth_require_tls": False}
    if args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == args.user
                  and auth_data.password.decode() == args.password)
            return AuthResult(success=ok, handled=False,
                              auth_data=auth_data.login if ok else None)
        kwargs.update(authenticator=authenticator, auth_required=True)
    server_ssl = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            server_ssl = ctx
        else:
            kwargs.update(tls_context=ctx, require_starttls=True)

    controller = Controller(Saver(args.out, args.reject), hostname="127.0.0.1", port=args.port,
                            ssl_context=server_ssl, **kwargs)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.2):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
