"""Loopback receivers for alert delivery tests (tests/detection.rs).

  alert_receivers.py webhook SECRET_FILE [CERT KEY]   an HTTP server on 127.0.0.1 (port printed first;
      HTTPS with the PEM certificate CERT and its KEY):
      answers the first POST with 500 (so the sender must retry), then 200; checks each
      request's X-Strongroom-Signature (HMAC-SHA256 over "<t>.<body>", t within 5 minutes)
      and prints one line per request: "signed <body>" or "unsigned <body>".
  alert_receivers.py smtp PORT [CERT KEY]   an SMTP server (aiosmtpd) on 127.0.0.1:PORT (TLS from
      the first byte with CERT and KEY); prints "ready", then one JSON line per message:
      {"from", "to", "subject", "body"}.
Both run until killed.
"""
import email
import hashlib
import hmac
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def tls(cert_and_key):
    """A server's TLS context with the certificate and key given, or None."""
    if not cert_and_key:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert_and_key)
    return ctx


def webhook(secret_file, cert_and_key):
    secret = open(secret_file, "rb").read().rstrip(b"\r\n")
    posts = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            posts["n"] += 1
            header = self.headers.get("x-strongroom-signature", "")
            verdict = "unsigned"
            try:
                t_part, mac = header.split(",sha256=", 1)
                t = int(t_part.removeprefix("t="))
                want = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(want, mac) and abs(time.time() - t) < 300:
                    verdict = "signed"
            except ValueError:
                pass
            status = 500 if posts["n"] == 1 else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            print(f"{verdict} status={status} {body.decode()}", flush=True)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    ctx = tls(cert_and_key)
    if ctx:
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def smtp(port, cert_and_key):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            msg = email.message_from_bytes(envelope.content)
            print(json.dumps({
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "subject": msg["subject"],
                "body": msg.get_payload(decode=True).decode(),
            }), flush=True)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            ssl_context=tls(cert_and_key))
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "webhook":
        webhook(sys.argv[2], sys.argv[3:5])
    else:
        smtp(int(sys.argv[2]), sys.argv[3:5])
