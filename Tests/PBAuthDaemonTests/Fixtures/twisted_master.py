"""A small stock Twisted master that keeps the broker side of the pbauth contract.

Usage: twisted_master.py BROKER_NAME TOKEN USERNAME COOKIE [CERT KEY]
With CERT and KEY (PEM files) it listens over TLS (twisted[tls]) instead of plain TCP.
One broker principal logs in with its token; authenticate_account checks PB's
challenge-response against one user's cookie. Prints its port alone on the first
line of standard output, then one line `via <json>` per authenticate_account call.
"""
import hashlib
import json
import signal
import sys
import time

import pbauth
from twisted.cred import checkers, portal
from twisted.internet import reactor, ssl
from twisted.spread import pb
from zope.interface import implementer


class Broker(pb.Avatar):
    def __init__(self, username, cookie):
        self.username = username
        self.cookie = cookie

    def perspective_authenticate_account(self, username, challenge, response, via=None):
        print("via " + json.dumps(via), flush=True)
        if username != self.username:
            raise pbauth.NoSuchAccount()
        expected = hashlib.md5(hashlib.md5(self.cookie).digest() + challenge).digest()
        if response != expected:
            raise pbauth.AuthenticationCookieMismatch()
        return {"username": username, "kind": "user", "master": False, "session": "s-1",
                "expires": int(time.time()) + 3600}

    def perspective_get_account(self, username):
        if username != self.username:
            raise pbauth.NoSuchAccount()
        return {"username": username, "disabled": False, "created": 1, "last_login": None}


@implementer(portal.IRealm)
class Realm:
    def __init__(self, username, cookie):
        self.username = username
        self.cookie = cookie

    def requestAvatar(self, avatar_id, mind, *interfaces):
        return pb.IPerspective, Broker(self.username, self.cookie), lambda: None


def main(broker, token, username, cookie, cert_file=None, key_file=None):
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(**{broker: token.encode()})
    the_portal = portal.Portal(Realm(username, cookie.encode()), [checker])
    factory = pb.PBServerFactory(the_portal)
    if cert_file:
        with open(cert_file) as cert, open(key_file) as key:
            options = ssl.PrivateCertificate.loadPEM(cert.read() + key.read()).options()
        port = reactor.listenSSL(0, factory, options, interface="127.0.0.1")
    else:
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    print(port.getHost().port, flush=True)
    reactor.run()


if __name__ == "__main__":
    # A parent that blocks SIGTERM in its threads passes the mask on; unblock it so that
    # the test's SIGTERM stops the reactor at once.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    main(*sys.argv[1:])
