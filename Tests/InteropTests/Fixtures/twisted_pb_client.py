"""
A stock Twisted PB client for the "Twisted client -> Swift server" interop tests.

    python twisted_pb_client.py PORT SCENARIO [SCENARIO ...]

Each scenario prints "PASS <name>" or "FAIL <name>: <why>". The exit status is 0
only when every scenario passed. The Swift test server is expected to know the
user alice/b"sesame" and to hand out an avatar with echo(*args), echoKw(*args, **kw),
isSame(a, b) and fail() (raises builtins.ValueError "deliberate failure").
"""

import math
import sys

from twisted.cred import credentials, error
from twisted.internet import defer, reactor, task
from twisted.spread import pb


def outcome(deferred):
    """Turns a Deferred into ("ok", result) or ("err", failure), keeping the Failure."""
    return deferred.addCallbacks(lambda result: ("ok", result), lambda failure: ("err", failure))


@defer.inlineCallbacks
def connect_and_login(port, username, secret):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    result = yield outcome(factory.login(credentials.UsernamePassword(username, secret)))
    return factory, result


class Failed(Exception):
    pass


def expect(condition, why):
    if not condition:
        raise Failed(why)


@defer.inlineCallbacks
def logged_in(port):
    factory, (kind, avatar) = yield connect_and_login(port, b"alice", b"sesame")
    expect(kind == "ok", "login failed: %r" % (avatar,))
    return factory, avatar


@defer.inlineCallbacks
def scenario_login_ok(port):
    factory, avatar = yield logged_in(port)
    expect(isinstance(avatar, pb.RemoteReference), "avatar is %r" % (avatar,))
    kind, answer = yield outcome(avatar.callRemote("echo", "hello"))
    expect(kind == "ok" and answer == ("hello",), "echo after login gave %r" % (answer,))
    factory.disconnect()


@defer.inlineCallbacks
def expect_unauthorized(port, username, secret):
    factory, (kind, failure) = yield connect_and_login(port, username, secret)
    expect(kind == "err", "login unexpectedly succeeded")
    expect(failure.check(error.UnauthorizedLogin), "parents were %r" % (failure.parents,))
    # A failed login leaves the connection usable: a correct login on it works.
    kind, avatar = yield outcome(factory.login(credentials.UsernamePassword(b"alice", b"sesame")))
    expect(kind == "ok", "retry on the same connection failed: %r" % (avatar,))
    factory.disconnect()


def scenario_wrong_secret(port):
    return expect_unauthorized(port, b"alice", b"wrong")


def scenario_unknown_user(port):
    return expect_unauthorized(port, b"mallory", b"sesame")


ECHO_VALUES = (
    "abc",
    "unicode \u00e9\u20ac \U0001F600",
    b"raw \x00\xff bytes",
    b"None",
    b"message",
    b"",
    "",
    0,
    12,
    -5,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**70,
    -(2**100),
    2**448 - 1,
    1.5,
    -0.0,
    float("inf"),
    None,
    True,
    False,
    [1, [2, (3, "four")]],
    [],
    (),
    {"k": "v", 1: [b"x", None], (1, 2): {"nested": True}},
    {},
    {1, 2, "three"},
    frozenset({b"x", 4}),
)


def same_value(sent, got):
    """Equality that also checks Python types (tuple vs list, bytes vs str, bool vs int)."""
    if type(sent) is not type(got):
        return False
    if isinstance(sent, float) and sent == 0.0:
        return math.copysign(1.0, sent) == math.copysign(1.0, got)
    if isinstance(sent, (list, tuple)):
        return len(sent) == len(got) and all(same_value(a, b) for a, b in zip(sent, got))
    if isinstance(sent, dict):
        return sent.keys() == got.keys() and all(same_value(v, got[k]) for k, v in sent.items())
    return sent == got


@defer.inlineCallbacks
def scenario_echo(port):
    factory, avatar = yield logged_in(port)
    kind, answer = yield outcome(avatar.callRemote("echo", *ECHO_VALUES))
    expect(kind == "ok", "echo failed: %r" % (answer,))
    expect(isinstance(answer, tuple), "echo answered a %s" % type(answer).__name__)
    for sent, got in zip(ECHO_VALUES, answer):
        expect(same_value(sent, got), "sent %r, got back %r" % (sent, got))
    expect(len(answer) == len(ECHO_VALUES), "answer has %d items" % len(answer))
    kind, answer = yield outcome(avatar.callRemote("echo", float("nan")))
    expect(kind == "ok" and math.isnan(answer[0]), "NaN came back as %r" % (answer,))
    kind, answer = yield outcome(avatar.callRemote("echoKw", 1, a="x", b=[2]))
    expect(kind == "ok" and answer == [[1], {"a": "x", "b": [2]}], "echoKw gave %r" % (answer,))
    factory.disconnect()


@defer.inlineCallbacks
def scenario_shared(port):
    factory, avatar = yield logged_in(port)
    shared = [1, "one"]
    kind, answer = yield outcome(avatar.callRemote("echo", shared, shared, (), ()))
    expect(kind == "ok", "echo failed: %r" % (answer,))
    expect(answer[0] == shared and answer[0] is answer[1], "shared list not shared: %r" % (answer,))
    kind, same = yield outcome(avatar.callRemote("isSame", shared, shared))
    expect(kind == "ok" and same is True, "server saw two objects: %r" % (same,))
    kind, same = yield outcome(avatar.callRemote("isSame", [1], [1]))
    expect(kind == "ok" and same is False, "server saw one object: %r" % (same,))
    factory.disconnect()


@defer.inlineCallbacks
def scenario_error(port):
    factory, avatar = yield logged_in(port)
    kind, failure = yield outcome(avatar.callRemote("fail"))
    expect(kind == "err", "fail() succeeded")
    expect(failure.check(ValueError), "parents were %r" % (failure.parents,))
    expect(failure.check(Exception), "parents were %r" % (failure.parents,))
    expect(not failure.check(KeyError), "KeyError matched %r" % (failure.parents,))
    expect(failure.getErrorMessage() == "deliberate failure", "value %r" % (failure.value,))
    # answerRequired = 0: the server must send nothing back (an answer for an id Twisted
    # is not waiting for would make it drop the connection).
    avatar.callRemote("fail", pbanswer=0)
    avatar.callRemote("echo", "ignored", pbanswer=0)
    # The connection stays usable after an error.
    kind, answer = yield outcome(avatar.callRemote("echo", 1))
    expect(kind == "ok" and answer == (1,), "echo after error gave %r" % (answer,))
    factory.disconnect()


@defer.inlineCallbacks
def scenario_str_username(port):
    # A str username travels as [unicode, ...]; the Swift portal root hands it on as UTF-8.
    factory, (kind, avatar) = yield connect_and_login(port, "alice", b"sesame")
    expect(kind == "ok", "login with a str username failed: %r" % (avatar,))
    factory.disconnect()


@defer.inlineCallbacks
def scenario_missing_method(port):
    factory, avatar = yield logged_in(port)
    kind, failure = yield outcome(avatar.callRemote("noSuchThing", 1))
    expect(kind == "err", "noSuchThing succeeded")
    expect(failure.check(AttributeError), "parents were %r" % (failure.parents,))
    kind, answer = yield outcome(avatar.callRemote("echo", 2))
    expect(kind == "ok" and answer == (2,), "echo after missing method gave %r" % (answer,))
    factory.disconnect()


@defer.inlineCallbacks
def scenario_concurrent(port, clients=100):
    @defer.inlineCallbacks
    def one(index):
        factory, avatar = yield logged_in(port)
        kind, answer = yield outcome(avatar.callRemote("echo", index, "client"))
        expect(kind == "ok" and answer == (index, "client"), "client %d got %r" % (index, answer))
        factory.disconnect()

    results = yield defer.DeferredList([one(i) for i in range(clients)], consumeErrors=True)
    failures = [result for ok, result in results if not ok]
    expect(not failures, "%d of %d clients failed, first: %s" % (
        len(failures), clients, failures[0].getErrorMessage() if failures else ""))


SCENARIOS = {
    "login_ok": scenario_login_ok,
    "wrong_secret": scenario_wrong_secret,
    "unknown_user": scenario_unknown_user,
    "echo": scenario_echo,
    "shared": scenario_shared,
    "error": scenario_error,
    "missing_method": scenario_missing_method,
    "str_username": scenario_str_username,
    "concurrent": scenario_concurrent,
}


@defer.inlineCallbacks
def main(reactor_, port, *names):
    failed = 0
    for name in names:
        try:
            yield defer.maybeDeferred(SCENARIOS[name], int(port))
            print("PASS %s" % name, flush=True)
        except Exception as problem:
            failed += 1
            print("FAIL %s: %s" % (name, problem), flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    task.react(main, sys.argv[1:])
