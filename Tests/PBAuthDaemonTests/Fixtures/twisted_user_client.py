"""A stock Twisted client using pbauth: password at the master, cookie at a subordinate.

Usage: twisted_user_client.py MASTER_PORT EDGE_PORT USERNAME PASSWORD
Prints one JSON object with what the client saw.
"""
import json
import sys

from twisted.cred import credentials
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, task
from twisted.spread import pb


def connect(reactor, port):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", port, factory)
    return factory


def outcome(deferred):
    """Turns a login Deferred into ("ok", avatar) or ("refused", check(UnauthorizedLogin) is not None)."""
    return deferred.addCallbacks(
        lambda avatar: ("ok", avatar),
        lambda failure: ("refused", failure.check(UnauthorizedLogin) is not None),
    )


@defer.inlineCallbacks
def main(reactor, master_port, edge_port, username, password):
    report = {}
    master = connect(reactor, int(master_port))
    root = yield master.getRootObject()
    status = yield root.callRemote("authenticate", username, password)
    report["status_keys"] = sorted(status)
    report["master"] = status["master"]
    cookie = status["cookie"]
    session = status["session"]

    edge = connect(reactor, int(edge_port))
    kind, avatar = yield outcome(edge.login(credentials.UsernamePassword(username.encode(), cookie.encode())))
    report["cookie_login"] = kind
    whoami = yield avatar.callRemote("whoami")
    report["whoami_session_matches"] = whoami["session"] == session
    report["whoami_has_cookie"] = "cookie" in whoami

    wrong = connect(reactor, int(edge_port))
    kind, unauthorized = yield outcome(wrong.login(credentials.UsernamePassword(username.encode(), b"not-a-cookie")))
    report["wrong_cookie"] = [kind, unauthorized]

    yield avatar.callRemote("logout")
    after = connect(reactor, int(edge_port))
    kind, unauthorized = yield outcome(after.login(credentials.UsernamePassword(username.encode(), cookie.encode())))
    report["after_logout"] = [kind, unauthorized]

    for factory in (master, edge, wrong, after):
        factory.disconnect()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
