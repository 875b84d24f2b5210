#!/usr/bin/env python3
"""Writes the broker fuzzer's seed inputs (the format of Sources/BrokerFuzz/FuzzPlan.swift).

    scripts/fuzz-broker-seeds.py CAPTURES_DIR OUTPUT_DIR

CAPTURES_DIR holds <scenario>/connN.c2s.bin and <scenario>/events.jsonl as recorded by
Twisted's pb (Tests/Fixtures/pb-capture/captures). From each client-to-server stream it makes:
a stranger input cut at the client's TCP chunks, the same stream in one piece and a byte at
a time, and, for each logged-in start, what the client sent after its login. It adds calls
of pbauth's own methods (user and broker avatars, refusals, pipelining, held checks, time
steps, a peer that stops reading). Only the standard library is used.
"""
import hashlib
import json
import os
import sys

SEP = b"\xff\xfe\xfd"
VOCAB = [None, b"None", b"class", b"dereference", b"reference", b"dictionary", b"function", b"instance",
         b"list", b"module", b"persistent", b"tuple", b"unpersistable", b"copy", b"cache", b"cached",
         b"remote", b"local", b"lcache", b"version", b"login", b"password", b"challenge", b"logged_in",
         b"not_logged_in", b"cachemessage", b"message", b"answer", b"error", b"decref", b"decache", b"uncache"]

# Flags (byte 0): start 0 stranger, 1 alice, 2 edge1 (broker), 3 carol.
STRANGER, ALICE, EDGE1, CAROL = 0, 1, 2, 3
DIALECT_NONE, HOLD_CHECKS, PEER_NOT_READING = 0x04, 0x08, 0x80


def trickle(size_code):
    return size_code << 4


def cut(op=0):
    return SEP + bytes([op])


def clock(seconds):
    return cut(((max(2, min(64, seconds)) // 2 - 1) << 3) | 1)


STOP_READING, READ, HOLD, RELEASE, CLOSE = cut(2), cut(3), cut(4), cut(5), cut(6)


# MARK: Banana and jelly encoding

def prefix(n):
    out = bytearray()
    while True:
        out.append(n & 0x7F)
        n >>= 7
        if n == 0:
            return bytes(out)


def i(n):
    return prefix(n) + b"\x81" if n >= 0 else prefix(-n) + b"\x83"


def s(data, vocab=True):
    if isinstance(data, str):
        data = data.encode()
    if vocab and data in VOCAB:
        return prefix(VOCAB.index(data)) + b"\x87"
    return prefix(len(data)) + b"\x82" + data


def lst(*items):
    return prefix(len(items)) + b"\x80" + b"".join(items)


def uni(text):
    return lst(s("unicode"), s(text, vocab=False))


NONE = lst(s("None"))


def tup(*items):
    return lst(s("tuple"), *items)


def jlist(*items):
    return lst(s("list"), *items)


def dct(*pairs):
    return lst(s("dictionary"), *(lst(k, v) for k, v in pairs))


def msg(request, obj, method, args=(), kwargs=(), answer=1):
    target = s(obj) if isinstance(obj, (bytes, str)) else i(obj)
    return lst(s("message"), i(request), target, s(method), i(answer), tup(*args), dct(*kwargs))


def decref(luid):
    return lst(s("decref"), i(luid))


def response(secret, challenge):
    return hashlib.md5(hashlib.md5(secret.encode()).digest() + challenge).digest()


HANDSHAKE = s("pb", vocab=False) + lst(s("version"), i(6))
AVATAR = 2  # luid of the avatar after the harness's login (1 is the challenger)


# MARK: Captures

def elements(stream):
    """Splits a Banana stream into its top-level elements (bytes)."""
    out, pos = [], 0
    while pos < len(stream):
        start = pos
        pos = skip(stream, pos)
        if pos is None:
            out.append(stream[start:])
            break
        out.append(stream[start:pos])
    return out


def skip(data, pos):
    value, shift = 0, 0
    while pos < len(data) and data[pos] < 0x80:
        value |= data[pos] << shift
        shift += 7
        pos += 1
    if pos >= len(data):
        return None
    kind = data[pos]
    pos += 1
    if kind == 0x80:
        for _ in range(value):
            pos = skip(data, pos)
            if pos is None:
                return None
        return pos
    if kind == 0x82:
        return pos + value if pos + value <= len(data) else None
    if kind == 0x84:
        return pos + 8 if pos + 8 <= len(data) else None
    return pos


def client_chunks(events_path, conn):
    chunks = []
    with open(events_path) as events:
        for line in events:
            event = json.loads(line)
            if event.get("conn") == conn and event.get("dir") == "C>S" and event.get("hex"):
                chunks.append(bytes.fromhex(event["hex"]))
    return chunks


def after_login(stream):
    """The messages a client sent after its respond call and the challenger's decref."""
    parts = elements(stream)
    for index, part in enumerate(parts):
        if s("respond", vocab=False) in part[:24]:
            rest = parts[index + 1:]
            if rest and (rest[0].startswith(b"\x02\x80\x1d\x87") or rest[0].startswith(b"\x02\x80\x06\x82decref")):
                rest = rest[1:]
            return rest
    return []


def capture_seeds(captures):
    seeds = {}
    for scenario in sorted(os.listdir(captures)):
        folder = os.path.join(captures, scenario)
        if not os.path.isdir(folder):
            continue
        events = os.path.join(folder, "events.jsonl")
        for name in sorted(os.listdir(folder)):
            if not (name.startswith("conn") and name.endswith(".c2s.bin")):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                stream = f.read()
            tag = f"{scenario}-{name[:-len('.c2s.bin')]}"
            conn = int(name[4:name.index(".")])
            chunks = client_chunks(events, conn) if os.path.exists(events) else []
            if b"".join(chunks) != stream:
                chunks = elements(stream)
            seeds[f"capture-{tag}-chunks"] = bytes([STRANGER]) + cut().join(chunks)
            seeds[f"capture-{tag}-whole"] = bytes([STRANGER]) + stream
            seeds[f"capture-{tag}-bytes"] = bytes([STRANGER | trickle(1)]) + stream
            body = after_login(stream)
            if body:
                for start, label in ((ALICE, "alice"), (EDGE1, "edge1"), (CAROL, "carol")):
                    seeds[f"capture-{tag}-{label}"] = bytes([start]) + cut().join(body)
    return seeds


# MARK: pbauth's methods

def synthetic_seeds():
    seeds = {}
    challenge = bytes(range(16))
    good = response("sesame", challenge)
    # Strangers: the login exchange piece by piece (the challenger is luid 1), and abuse.
    login = msg(1, "root", "login", [s("alice", vocab=False)])
    seeds["stranger-login-wrong-response"] = bytes([STRANGER]) + HANDSHAKE + login + cut() + \
        msg(2, 1, "respond", [s(b"\x00" * 16), NONE]) + decref(1)
    seeds["stranger-login-str-username"] = bytes([STRANGER]) + HANDSHAKE + msg(1, "root", "login", [uni("carol")]) + \
        cut() + msg(2, 1, "respond", [s(b"x" * 16), lst(s("remote"), i(1))])
    seeds["stranger-login-pipelined"] = bytes([STRANGER]) + HANDSHAKE + b"".join(
        msg(n, "root", "login", [s(f"user{n}", vocab=False)]) for n in range(1, 9))
    seeds["stranger-login-long-name"] = bytes([STRANGER]) + HANDSHAKE + msg(1, "root", "login", [s("a" * 65, vocab=False)])
    seeds["stranger-other-root-methods"] = bytes([STRANGER]) + HANDSHAKE + msg(1, "root", "loginAnonymous") + \
        msg(2, "root", "authenticate", [s("alice", vocab=False), s("sesame", vocab=False)]) + msg(3, 7, "respond")
    seeds["stranger-dialect-none"] = bytes([STRANGER]) + s("none") + lst(s("version", vocab=False), i(6)) + \
        lst(s("message", vocab=False), i(1), s("root"), s("login", vocab=False), i(1),
            lst(s("tuple", vocab=False), s("alice", vocab=False)), lst(s("dictionary", vocab=False)))
    seeds["stranger-wrong-version"] = bytes([STRANGER]) + s("pb", vocab=False) + lst(s("version"), i(5))
    seeds["stranger-silent"] = bytes([STRANGER]) + HANDSHAKE + clock(30) + clock(30)
    seeds["stranger-no-handshake"] = bytes([STRANGER]) + s("pb", vocab=False) + clock(32)
    seeds["stranger-trickle"] = bytes([STRANGER | trickle(2)]) + HANDSHAKE + login
    seeds["stranger-held-checks"] = bytes([STRANGER | HOLD_CHECKS]) + HANDSHAKE + login + cut() + \
        msg(2, 1, "respond", [s(b"\x01" * 16), NONE]) + clock(40) + RELEASE
    seeds["stranger-close-while-checking"] = bytes([STRANGER | HOLD_CHECKS]) + HANDSHAKE + login + cut() + \
        msg(2, 1, "respond", [s(b"\x01" * 16), NONE]) + CLOSE
    seeds["stranger-bad-frames"] = bytes([STRANGER]) + HANDSHAKE + lst(s("answer"), i(9), NONE)
    # A user avatar.
    user = [
        ("whoami", msg(3, AVATAR, "whoami")),
        ("cookie", msg(3, AVATAR, "authentication_cookie")),
        ("logout", msg(3, AVATAR, "logout") + msg(4, AVATAR, "logout") + msg(5, AVATAR, "whoami")),
        ("bad-arguments", msg(3, AVATAR, "whoami", [i(1)]) + msg(4, AVATAR, "whoami", [], [(uni("x"), i(1))])),
        ("no-such-method", msg(3, AVATAR, "echo", [uni("abc")]) + msg(4, AVATAR, "whoami", answer=0)),
        ("decref-avatar", decref(AVATAR) + msg(3, AVATAR, "whoami") + msg(4, 1, "respond")),
        ("login-again", msg(3, "root", "login", [s("carol", vocab=False)]) + cut() +
         msg(4, 3, "respond", [s(b"\x02" * 16), NONE])),
        ("shared-arguments", msg(3, AVATAR, "whoami", [lst(s("reference"), i(1), jlist(i(1))), lst(s("dereference"), i(1))])),
        ("remote-arguments", msg(3, AVATAR, "whoami", [lst(s("remote"), i(5)), lst(s("local"), i(AVATAR))])),
        # Past 64 KiB of unread answers the socket turns unwritable and reading pauses
        # (errors are the largest answers per byte asked: about 450 for 17).
        ("peer-not-reading", STOP_READING + b"".join(msg(n, 99, "x") for n in range(3, 200)) + cut() + READ),
    ]
    for name, body in user:
        seeds[f"alice-{name}"] = bytes([ALICE]) + body
    seeds["carol-cookie"] = bytes([CAROL]) + msg(3, AVATAR, "authentication_cookie") + msg(4, AVATAR, "logout")
    seeds["alice-none-dialect"] = bytes([ALICE | DIALECT_NONE]) + \
        lst(s("message", vocab=False), i(3), i(AVATAR), s("whoami"), i(1), lst(s("tuple", vocab=False)), lst(s("dictionary", vocab=False)))
    seeds["alice-held-logout"] = bytes([ALICE | HOLD_CHECKS]) + msg(3, AVATAR, "logout") + clock(64) + RELEASE
    # A broker avatar: pbauth's checker service.
    def check(request, username, secret_or_response, via=None):
        resp = secret_or_response if isinstance(secret_or_response, bytes) else response(secret_or_response, challenge)
        args = [uni(username), s(challenge), s(resp)]
        if via is not None:
            args.append(jlist(*(uni(v) for v in via)))
        return msg(request, AVATAR, "authenticate_account", args)
    broker = [
        ("check-good", check(3, "alice", "sesame")),
        ("check-via", check(3, "alice", "sesame", ["edge0"]) + check(4, "carol", "cookie-carol", ["edge0", "edge1"])),
        ("check-via-keyword", msg(3, AVATAR, "authenticate_account", [uni("alice"), s(challenge), s(good)],
                                  [(uni("via"), jlist(uni("edge0")))])),
        ("check-refusals", b"".join(check(3 + n, name, b"\x00" * 16) for n, name in enumerate(
            ["alice", "carol", "nobody", "disabled", "locked", "busy", "far", "down", "broken", "edge1"]))),
        ("check-bad-via", check(3, "alice", "sesame", ["bad name!"]) + check(4, "alice", "sesame", ["e%d" % n for n in range(16)])),
        ("check-bad-arguments", msg(3, AVATAR, "authenticate_account", [i(1), i(2), i(3)]) +
         msg(4, AVATAR, "authenticate_account", [uni("alice")])),
        ("facts", msg(3, AVATAR, "get_account", [uni("alice")]) + msg(4, AVATAR, "account_status", [uni("carol")]) +
         msg(5, AVATAR, "get_account", [uni("nobody")]) + msg(6, AVATAR, "account_status", [uni("broken")])),
        ("revoke", msg(3, AVATAR, "revoke_session", [uni("alice"), uni("s-alice")]) +
         msg(4, AVATAR, "revoke_session", [uni("alice"), uni("other")])),
        ("ping", msg(3, AVATAR, "ping") + msg(4, AVATAR, "ping", [NONE]) + msg(5, AVATAR, "ping", answer=0)),
        ("pipelined-held", b"".join(check(n, "alice", "sesame") for n in range(3, 40)) + clock(20) + RELEASE),
        ("peer-not-reading", STOP_READING + b"".join(msg(n, AVATAR, "ping", [i(n)]) for n in range(3, 200)) + cut() + READ),
    ]
    for name, body in broker:
        flags = EDGE1 | (HOLD_CHECKS if name == "pipelined-held" else 0)
        seeds[f"edge1-{name}"] = bytes([flags]) + body
    return seeds


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: fuzz-broker-seeds.py CAPTURES_DIR OUTPUT_DIR")
    captures, output = sys.argv[1], sys.argv[2]
    os.makedirs(output, exist_ok=True)
    seeds = {}
    if os.path.isdir(captures):
        seeds.update(capture_seeds(captures))
    seeds.update(synthetic_seeds())
    for name, data in seeds.items():
        path = os.path.join(output, "seed-" + name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
    print(f"fuzz-broker-seeds: {len(seeds)} seeds in {output}")


if __name__ == "__main__":
    main()
