"""Odd authentication sequences against Strongroom (the class of MOVEit's 2024 SFTP bypass).

usage: auth_abuse.py PORT ALICE_KEY ROBOT_TOTP_SECRET

alice has ALICE_KEY; robot has the same key and a TOTP second factor; bob exists with another
key. Every attempt below must fail to authenticate; a well-formed login must still work after
each on the same server. Prints one line per case and "ok"; exits non-zero on any bypass.
"""
import os
import socket
import sys

import paramiko
from paramiko.message import Message
from paramiko.pkey import PublicBlob

port, alice_key_path, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
alice_key = paramiko.Ed25519Key.from_private_key_file(alice_key_path)


def transport():
    t = paramiko.Transport(socket.create_connection(("127.0.0.1", port)))
    t.start_client(timeout=20)
    return t


def must_fail(name, attempt):
    t = transport()
    try:
        attempt(t)
    except (paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError):
        pass
    if t.is_authenticated():
        print("BYPASS:", name)
        sys.exit(1)
    t.close()
    print("refused:", name)


class SignsWith(paramiko.Ed25519Key):
    """alice's public key, with a signature made by `fake`."""

    def __init__(self, fake):
        super().__init__(filename=alice_key_path)
        self.fake = fake

    def sign_ssh_data(self, data, algorithm=None):
        return self.fake(data)


def wrong_data(data):
    return alice_key.sign_ssh_data(b"not the session data")


def empty_sig(data):
    m = Message()
    m.add_string("ssh-ed25519")
    m.add_string(b"")
    return m


def garbage_sig(data):
    return Message(os.urandom(83))


def truncated_sig(data):
    good = alice_key.sign_ssh_data(data).asbytes()
    return Message(good[: len(good) // 2])


def other_algorithm(data):
    m = Message()
    m.add_string("rsa-sha2-512")
    m.add_string(os.urandom(256))
    return m


for name, fake in [
    ("signature over other data", wrong_data),
    ("empty signature", empty_sig),
    ("garbage signature", garbage_sig),
    ("truncated signature", truncated_sig),
    ("signature of another algorithm", other_algorithm),
]:
    must_fail(name, lambda t, f=fake: t.auth_publickey("alice", SignsWith(f)))

# A certificate blob that is garbage, and one of the wrong type.
def bad_cert(t):
    k = paramiko.Ed25519Key(filename=alice_key_path)
    k.public_blob = PublicBlob("ssh-ed25519-cert-v01@openssh.com", os.urandom(200))
    t.auth_publickey("alice", k)


must_fail("garbage certificate", bad_cert)

# The right key for another user; then, on the same connection, names that are not accounts.
def other_user(t):
    for user in ["bob", "alice' OR '1'='1", "alice\x00", "ALICE", "alice ", ""]:
        try:
            t.auth_publickey(user, alice_key)
        except paramiko.AuthenticationException:
            pass
        if t.is_authenticated():
            return


must_fail("alice's key for other users", other_user)

# Second factor: first factor for robot, second factor claimed for alice (no TOTP) or bob.
def switch_user_before_second_factor(t):
    left = t.auth_publickey("robot", alice_key)
    assert left == ["keyboard-interactive"], left
    for user in ["alice", "bob"]:
        try:
            t.auth_interactive(user, lambda *a: ["000000"])
        except paramiko.AuthenticationException:
            pass


must_fail("second factor under another user", switch_user_before_second_factor)

def second_factor_alone(t):
    t.auth_interactive("robot", lambda title, instr, prompts: ["123456" for _ in prompts])


must_fail("keyboard-interactive without a first factor", second_factor_alone)

def wrong_codes(t):
    t.auth_publickey("robot", alice_key)
    t.auth_interactive("robot", lambda title, instr, prompts: ["' OR 1=1 --" for _ in prompts])


must_fail("an injected verification code", wrong_codes)

must_fail("password for a key-only account", lambda t: t.auth_password("alice", "alice"))
must_fail("none", lambda t: t.auth_none("alice"))

# After all that, a proper login works.
t = transport()
t.auth_publickey("alice", alice_key)
assert t.is_authenticated()
paramiko.SFTPClient.from_transport(t).listdir("/")
t.close()
print("ok")
