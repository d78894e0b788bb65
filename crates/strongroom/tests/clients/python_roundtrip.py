"""Round trip of a local tree through Strongroom with a Python SFTP client.

usage: python_roundtrip.py paramiko|asyncssh PORT USER KEY SRC REMOTE DST [TOTP_SECRET]

Uploads SRC (every file, binary, empty and non-UTF-8 names included) to REMOTE, lists it back,
renames and removes a file there, downloads REMOTE into DST. The Rust test compares SRC and DST
byte for byte. Exits non-zero on any error. Names are handled as bytes (os.fsencode), so a
non-UTF-8 name crosses unchanged.
"""
import base64
import hashlib
import hmac
import os
import stat
import struct
import sys
import time

client, port, user, key, src, remote, dst = sys.argv[1:8]
port = int(port)
secret = sys.argv[8] if len(sys.argv) > 8 else None


def totp(s):
    k = base64.b32decode(s)
    c = struct.pack(">Q", int(time.time()) // 30)
    h = hmac.new(k, c, hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def local_files(root):
    """(relative path as bytes, is_dir) for everything under root, parents first."""
    out = []
    for d, dirs, files in os.walk(os.fsencode(root)):
        rel = os.path.relpath(d, os.fsencode(root))
        for name in sorted(dirs):
            out.append((os.path.normpath(os.path.join(rel, name)), True))
        for name in sorted(files):
            out.append((os.path.normpath(os.path.join(rel, name)), False))
    return out


def run_paramiko():
    import paramiko
    import socket

    sock = socket.create_connection(("127.0.0.1", port))
    t = paramiko.Transport(sock)
    t.start_client(timeout=20)
    pkey = paramiko.Ed25519Key.from_private_key_file(key)
    left = t.auth_publickey(user, pkey)
    if secret:
        assert left == ["keyboard-interactive"], left
        t.auth_interactive(user, lambda title, instr, prompts: [totp(secret) for _ in prompts])
    assert t.is_authenticated()
    sftp = paramiko.SFTPClient.from_transport(t)
    base = os.fsencode(remote)
    sftp.mkdir(base)
    for rel, is_dir in local_files(src):
        there = base + b"/" + rel
        if is_dir:
            sftp.mkdir(there)
        else:
            sftp.put(os.path.join(os.fsencode(src), rel), there, confirm=True)
    # listdir_attr: every name and size as uploaded. paramiko decodes listed names as strict
    # UTF-8 (a client limitation: it cannot list a directory holding a non-UTF-8 name), so it
    # lists the subdirectory; the non-UTF-8 name itself crosses by path, as bytes.
    names = {a.filename: a.st_size for a in sftp.listdir_attr(base + b"/sub")}
    for rel, is_dir in local_files(src):
        if rel.startswith(b"sub/") and rel.count(b"/") == 1 and not is_dir:
            want = os.path.getsize(os.path.join(os.fsencode(src), rel))
            got = names.get(rel[4:].decode())
            assert got == want, (rel, got, want, names)
    # rename and remove
    sftp.put(os.path.join(os.fsencode(src), local_files(src)[-1][0]), base + b"/scratch")
    sftp.rename(base + b"/scratch", base + b"/scratch2")
    sftp.remove(base + b"/scratch2")
    # get (with prefetch, paramiko's pipelined download)
    os.makedirs(dst, exist_ok=True)
    for rel, is_dir in local_files(src):
        here = os.path.join(os.fsencode(dst), rel)
        if is_dir:
            os.makedirs(here, exist_ok=True)
        else:
            with sftp.open(base + b"/" + rel, "rb") as f:
                f.prefetch()
                data = f.read()
            with open(here, "wb") as out:
                out.write(data)
    t.close()


def run_asyncssh():
    import asyncio
    import asyncssh

    async def main():
        async with asyncssh.connect(
            "127.0.0.1", port, username=user, client_keys=[key], known_hosts=None,
            kbdint_auth=bool(secret), password=None,
        ) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(os.fsencode(src), os.fsencode(remote), recurse=True)
                names = await sftp.listdir(os.fsencode(remote))
                assert len(names) >= 2, names
                await sftp.rename(os.fsencode(remote) + b"/empty", os.fsencode(remote) + b"/empty2")
                await sftp.rename(os.fsencode(remote) + b"/empty2", os.fsencode(remote) + b"/empty")
                # parallel get: many requests in flight, small blocks
                await sftp.get(os.fsencode(remote), os.fsencode(dst), recurse=True,
                               block_size=16384, max_requests=128)

    class Answer(asyncssh.SSHClient):
        def kbdint_auth_requested(self):
            return ""

        def kbdint_challenge_received(self, name, instructions, lang, prompts):
            return [totp(secret) for _ in prompts]

    if secret:
        async def with_mfa():
            conn, _ = await asyncssh.create_connection(
                Answer, "127.0.0.1", port, username=user, client_keys=[key], known_hosts=None)
            async with conn:
                async with conn.start_sftp_client() as sftp:
                    await sftp.put(os.fsencode(src), os.fsencode(remote), recurse=True)
                    await sftp.get(os.fsencode(remote), os.fsencode(dst), recurse=True)
        asyncio.run(with_mfa())
    else:
        asyncio.run(main())


{"paramiko": run_paramiko, "asyncssh": run_asyncssh}[client]()
print("ok")
