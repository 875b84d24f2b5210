"""A stock Twisted client over TLS (twisted[tls]): a password at the master, cookie logins at
the master and at a subordinate, whoami and logout, every connection verified TLS.

Usage: twisted_tls_user_client.py MASTER_PORT EDGE_PORT CA_FILE USERNAME PASSWORD [CERT KEY]
The master is verified as 127.0.0.1 (an IP address in the certificate), the subordinate as
localhost (a DNS name). With CERT and KEY the client shows that certificate (mutual TLS).
Prints one JSON object with what the client saw.
"""
import json
import sys

from twisted.cred import credentials
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, endpoints, ssl, task
from twisted.spread import pb


def tls_options(hostname, ca_file, cert_file, key_file):
    with open(ca_file) as handle:
        trust = ssl.Certificate.loadPEM(handle.read())
    client = None
    if cert_file:
        with open(cert_file) as cert, open(key_file) as key:
            client = ssl.PrivateCertificate.loadPEM(cert.read() + key.read())
    return ssl.optionsForClientTLS(hostname, trustRoot=trust, clientCertificate=client)


def connect(reactor, port, options):
    factory = pb.PBClientFactory()
    endpoint = endpoints.wrapClientTLS(options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port))
    endpoint.connect(factory)
    return factory


def outcome(deferred):
    """Turns a login Deferred into ("ok", avatar) or ("refused", check(UnauthorizedLogin) is not None)."""
    return deferred.addCallbacks(
        lambda avatar: ("ok", avatar),
        lambda failure: ("refused", failure.check(UnauthorizedLogin) is not None),
    )


@defer.inlineCallbacks
def main(reactor, master_port, edge_port, ca_file, username, password, cert_file=None, key_file=None):
    report = {}
    at_master = tls_options("127.0.0.1", ca_file, cert_file, key_file)
    at_edge = tls_options("localhost", ca_file, cert_file, key_file)
    factories = []

    master = connect(reactor, int(master_port), at_master)
    factories.append(master)
    root = yield master.getRootObject()
    status = yield root.callRemote("authenticate", username, password)
    report["status_keys"] = sorted(status)
    report["master"] = status["master"]
    cookie = status["cookie"]
    session = status["session"]

    again = connect(reactor, int(master_port), at_master)
    factories.append(again)
    kind, avatar = yield outcome(again.login(credentials.UsernamePassword(username.encode(), cookie.encode())))
    report["master_cookie_login"] = kind
    whoami = yield avatar.callRemote("whoami")
    report["master_whoami_session_matches"] = whoami["session"] == session

    edge = connect(reactor, int(edge_port), at_edge)
    factories.append(edge)
    kind, avatar = yield outcome(edge.login(credentials.UsernamePassword(username.encode(), cookie.encode())))
    report["edge_cookie_login"] = kind
    whoami = yield avatar.callRemote("whoami")
    report["edge_whoami_session_matches"] = whoami["session"] == session
    report["edge_whoami_has_cookie"] = "cookie" in whoami

    wrong = connect(reactor, int(edge_port), at_edge)
    factories.append(wrong)
    kind, unauthorized = yield outcome(wrong.login(credentials.UsernamePassword(username.encode(), b"not-a-cookie")))
    report["wrong_cookie"] = [kind, unauthorized]

    yield avatar.callRemote("logout")
    for name, port, options in (("after_logout_edge", edge_port, at_edge), ("after_logout_master", master_port, at_master)):
        after = connect(reactor, int(port), options)
        factories.append(after)
        kind, unauthorized = yield outcome(after.login(credentials.UsernamePassword(username.encode(), cookie.encode())))
        report[name] = [kind, unauthorized]

    for factory in factories:
        factory.disconnect()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
