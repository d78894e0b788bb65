"""A SIEM's syslog-over-TLS receiver (RFC 5425) on loopback, for tests/ledger.rs.

  syslog_tls_receiver.py CERT KEY CLIENT_CA [DELAY_MS]
      listens on 127.0.0.1 (the port printed first) with the server certificate CERT and its
      KEY (PEM), and requires every client to show a certificate CLIENT_CA signed; with
      DELAY_MS, every byte each way is held that long first (a SIEM across a network, not on
      loopback: its refusal of a client certificate comes a round trip late). It reads
      octet-counted frames ("LEN SP MSG") and prints, one line each:
        "msg <MSG>"           a message (its line breaks escaped as \\n),
        "refused <why>"       a connection whose handshake failed,
        "peer <subject CN>"   a connection's client certificate, once it is accepted.
Runs until killed. Python's ssl module is OpenSSL: a real TLS peer, not the server's own code.
"""
import socket
import ssl
import sys
import threading
import time


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def frames(conn):
    buf = b""
    while True:
        while b" " not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
        length, rest = buf.split(b" ", 1)
        n = int(length)
        while len(rest) < n:
            chunk = conn.recv(65536)
            if not chunk:
                return
            rest += chunk
        yield rest[:n].decode("utf-8", "replace")
        buf = rest[n:]


def serve(raw, ctx):
    try:
        conn = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError) as e:
        out(f"refused {e}")
        raw.close()
        return
    subject = dict(x[0] for x in conn.getpeercert()["subject"])
    out(f"peer {subject.get('commonName', '')}")
    try:
        for msg in frames(conn):
            out("msg " + msg.replace("\n", "\\n"))
    except (ssl.SSLError, OSError) as e:
        out(f"dropped {e}")
    finally:
        conn.close()


def held(src, dst, delay):
    """Copies src to dst, each chunk held `delay` seconds first."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def delayed(client, delay):
    """The client's connection, every byte each way held `delay` seconds: one end of a socket
    pair goes to the TLS server, the other is joined to the client."""
    ours, theirs = socket.socketpair()
    for a, b in ((client, ours), (ours, client)):
        threading.Thread(target=held, args=(a, b, delay), daemon=True).start()
    return theirs


def main():
    cert, key, client_ca = sys.argv[1:4]
    delay = int(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_ca)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    out(str(listener.getsockname()[1]))
    while True:
        raw, _ = listener.accept()
        if delay:
            raw = delayed(raw, delay)
        threading.Thread(target=serve, args=(raw, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
