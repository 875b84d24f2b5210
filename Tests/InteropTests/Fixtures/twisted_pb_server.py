"""
A stock Twisted PB server for the "Swift client -> Twisted server" interop tests.

Portal + InMemoryUsernamePasswordDatabaseDontUse(alice=b"sesame") + a realm whose
avatar has a few perspective_* methods. Prints its port on the first line of
stdout, then "LOGOUT <avatarId>" each time the realm's logout runs.

    python twisted_pb_server.py
"""

import signal
import sys

from zope.interface import implementer

from twisted.cred import checkers, portal
from twisted.internet import reactor
from twisted.spread import pb


class Child(pb.Referenceable):
    def remote_ping(self, value):
        return ("pong", value)


class Avatar(pb.Avatar):
    def __init__(self, avatar_id):
        self.avatar_id = avatar_id
        self.child = Child()

    def perspective_echo(self, *args):
        return args

    def perspective_echoKw(self, *args, **kw):
        return [list(args), kw]

    def perspective_isSame(self, first, second):
        return first is second

    def perspective_fail(self):
        raise ValueError("deliberate failure")

    def perspective_getChild(self):
        return self.child

    def perspective_isMyChild(self, ref):
        return ref is self.child

    def logout(self):
        print("LOGOUT %s" % self.avatar_id.decode("utf-8"), flush=True)


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatar_id, mind, *interfaces):
        assert pb.IPerspective in interfaces
        avatar = Avatar(avatar_id)
        return pb.IPerspective, avatar, avatar.logout


def main():
    # A parent that blocks SIGTERM in its threads passes the mask on; unblock it so that
    # the test's SIGTERM stops the reactor at once.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice=b"sesame")
    factory = pb.PBServerFactory(portal.Portal(Realm(), [checker]))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    sys.exit(main())
