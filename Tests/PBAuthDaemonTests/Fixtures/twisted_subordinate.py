"""A stock Twisted PB broker whose checker asks a pbauth master (authenticate_account).

Usage: twisted_subordinate.py MASTER_PORT BROKER_NAME TOKEN
Logs in to the master as the broker principal, then serves a portal on an
OS-chosen loopback port, printed alone on the first line of standard output.
"""
import signal
import sys

from twisted.cred import credentials, portal
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, reactor
from twisted.spread import pb
from zope.interface import implementer


@implementer(portal.IRealm)
class Realm:
    def requestAvatar(self, avatar_id, mind, *interfaces):
        return pb.IPerspective, User(avatar_id), lambda: None


class User(pb.Avatar):
    def __init__(self, status):
        self.status = status

    def perspective_whoami(self):
        return {key: value for key, value in self.status.items() if key != "cookie"}


class ForwardingChecker:
    """Hands PB's challenge and response to the master, as a pbauth subordinate does."""

    credentialInterfaces = (credentials.IUsernameHashedPassword,)

    def __init__(self, master_avatar):
        self.master = master_avatar

    def requestAvatarId(self, challenger):
        d = self.master.callRemote(
            "authenticate_account", challenger.username.decode(), challenger.challenge, challenger.response, via=[]
        )

        def refused(failure):
            raise UnauthorizedLogin()

        return d.addCallbacks(lambda status: status, refused)


@defer.inlineCallbacks
def start(master_port, broker, token):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", int(master_port), factory)
    master_avatar = yield factory.login(credentials.UsernamePassword(broker.encode(), token.encode()))
    the_portal = portal.Portal(Realm(), [ForwardingChecker(master_avatar)])
    port = reactor.listenTCP(0, pb.PBServerFactory(the_portal), interface="127.0.0.1")
    print(port.getHost().port, flush=True)


if __name__ == "__main__":
    # A parent that blocks SIGTERM in its threads passes the mask on; unblock it so that
    # the test's SIGTERM stops the reactor at once.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    start(*sys.argv[1:]).addErrback(lambda failure: (print(failure, file=sys.stderr), reactor.stop()))
    reactor.run()
