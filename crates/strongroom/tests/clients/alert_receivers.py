"""Loopback receivers for alert delivery tests (tests/detection.rs).

  alert_receivers.py webhook SECRET_FILE   an HTTP server on 127.0.0.1 (port printed first):
      answers the first POST with 500 (so the sender must retry), then 200; checks each
      request's X-Strongroom-Signature (HMAC-SHA256 over "<t>.<body>", t within 5 minutes)
      and prints one line per request: "signed <body>" or "unsigned <body>".
  alert_receivers.py smtp PORT             an SMTP server (aiosmtpd) on 127.0.0.1:PORT; prints
      "ready", then one JSON line per message: {"from", "to", "subject", "body"}.
Both run until killed.
"""
import email
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def webhook(secret_file):
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
    print(server.server_address[1], flush=True)
    server.serve_forever()


def smtp(port):
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

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "webhook":
        webhook(sys.argv[2])
    else:
        smtp(int(sys.argv[2]))
