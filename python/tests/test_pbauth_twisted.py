"""pbauth_twisted against real pbauth daemons (see pbauth_cluster.py).

Run with the installed package (`pip install ./python`), from this folder:
`python -m twisted.trial test_pbauth_twisted`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable, List, Optional

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, protocol, reactor, task
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.logger import formatEvent, globalLogPublisher
from twisted.spread import pb
from twisted.trial import unittest
from zope.interface import implementer

import pbauth_twisted
from pbauth_twisted import PBAuthChecker, PBAuthError, authenticate, login_with_cookie, status_of
from pbauth_cluster import ROOT, Cluster

sys.path.insert(0, os.path.join(ROOT, "python", "examples"))
import app_broker  # noqa: E402  (the example of python/examples, exactly as the README shows it)


def endpoint(port: int) -> str:
    return f"tcp:host=127.0.0.1:port={port}"


@defer.inlineCallbacks
def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> Any:
    """Waits (bounded) until `condition()` holds; fails the test otherwise."""
    deadline = reactor.seconds() + seconds
    while not condition():
        if reactor.seconds() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        yield task.deferLater(reactor, 0.05, lambda: None)


class Logs:
    """Every event of Twisted's log during a test, formatted."""

    def __init__(self, test: unittest.TestCase) -> None:
        self.events: List[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        test.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def lines(self) -> List[str]:
        return [formatEvent(event) or "" for event in self.events
                if event.get("log_namespace") == "pbauth_twisted"]

    def everything(self) -> str:
        return "\n".join(f"{formatEvent(event)} {event!r}" for event in self.events)

    def has(self, *parts: str) -> bool:
        return any(all(part in line for part in parts) for line in self.lines())


class PBAuthCheckerTests(unittest.TestCase):
    timeout = 90

    def setUp(self) -> None:
        self.logs = Logs(self)
        # Stock Twisted PB logs every failure it sends a peer ("Peer will receive following
        # PB traceback"), refused logins included; trial would count those as errors.
        self.addCleanup(self.flushLoggedErrors, UnauthorizedLogin)

    # Helpers: every connection and listener is closed before the test ends.

    def serve(self, factory: pb.PBServerFactory) -> int:
        """Listens on an OS-chosen port of 127.0.0.1; returns it."""
        brokers: List[pb.Broker] = []
        build = factory.buildProtocol

        def tracking(addr: Any) -> pb.Broker:
            broker = build(addr)
            brokers.append(broker)
            return broker

        factory.buildProtocol = tracking  # type: ignore[method-assign]
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")

        def close() -> Deferred[Any]:
            closing = [port.stopListening()]
            for broker in brokers:
                if not broker.disconnected:
                    lost: Deferred[None] = Deferred()
                    broker.notifyOnDisconnect(lambda lost=lost: lost.callback(None))
                    broker.transport.loseConnection()
                    closing.append(lost)
            return defer.gatherResults(closing)

        self.addCleanup(close)
        return port.getHost().port

    def app_broker(self, checker: PBAuthChecker) -> int:
        """The example application broker over `checker`; returns its port."""
        self.addCleanup(checker.stop)
        return self.serve(app_broker.make_factory(checker))

    @defer.inlineCallbacks
    def client(self, port: int) -> Any:
        """A connected PBClientFactory, disconnected at the end of the test."""
        factory = pb.PBClientFactory()
        broker = yield TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
        lost: Deferred[None] = Deferred()
        broker.notifyOnDisconnect(lambda: lost.callback(None))

        def close() -> Deferred[None]:
            if not broker.disconnected:
                broker.transport.loseConnection()
            return lost

        self.addCleanup(close)
        return factory

    @defer.inlineCallbacks
    def login(self, port: int, username: Any, secret: Any) -> Any:
        factory = yield self.client(port)
        avatar = yield login_with_cookie(factory, username, secret)
        return avatar

    @defer.inlineCallbacks
    def refused(self, port: int, username: Any, secret: Any) -> Any:
        """Asserts that the login fails with UnauthorizedLogin at the client."""
        factory = yield self.client(port)
        yield self.assertFailure(login_with_cookie(factory, username, secret), UnauthorizedLogin)

    @defer.inlineCallbacks
    def master_with_users(self, extra: Optional[List[str]] = None) -> Any:
        cluster = Cluster(self)
        _, master = yield cluster.start_master(extra=extra)
        cluster.add_user("alice", "wonderland")
        token, token_file = cluster.add_broker("game1")
        return cluster, master, token, token_file

    def assertNoSecrets(self, *secrets: str) -> None:
        everything = self.logs.everything()
        for secret in secrets:
            self.assertNotIn(secret, everything)

    # The package.

    def test_the_package_is_installed_not_imported_from_the_source(self) -> None:
        location = os.path.realpath(pbauth_twisted.__file__)
        self.assertNotIn(os.path.realpath(os.path.join(ROOT, "python", "src")), location)
        self.assertIn("site-packages", location)

    # Success.

    @defer.inlineCallbacks
    def test_a_cookie_login_at_the_master(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token)
        port = self.app_broker(checker)
        yield checker.when_connected()

        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        self.assertEqual((status.username, status.kind, status.master), ("alice", "user", True))
        avatar = yield self.login(port, "alice", status.cookie)
        self.assertEqual((yield avatar.callRemote("hello")), "hello alice")
        # The realm learned the session behind the login: the one `authenticate` started.
        session = yield avatar.callRemote("session")
        self.assertEqual(session, {"session": status.session, "expires": status.expires, "master": False})
        self.assertTrue(self.logs.has("pbauth login of alice", "cookie", status.session))
        self.assertNoSecrets(status.cookie, token)

    @defer.inlineCallbacks
    def test_the_avatar_id_is_the_account_name_with_its_status(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users(extra=["--pb-password-login"])
        cluster.add_user("bob", "builder")  # after the start: the master keeps his PB verifier
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token.encode())
        avatar_ids: List[Any] = []

        @implementer(IRealm)
        class Realm:
            def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
                avatar_ids.append(avatar_id)
                return pb.IPerspective, pb.Avatar(), lambda: None

        self.addCleanup(checker.stop)
        port = self.serve(pb.PBServerFactory(Portal(Realm(), [checker])))
        yield checker.when_connected()
        yield self.login(port, "bob", "builder")  # a password login: it starts a session
        (avatar_id,) = avatar_ids
        self.assertEqual(avatar_id, "bob")
        self.assertIsInstance(avatar_id, str)
        status = status_of(avatar_id)
        self.assertEqual((status.username, status.kind, status.master), ("bob", "user", True))
        self.assertTrue(status.session)
        self.assertIsNotNone(status.cookie)
        self.assertNotIn(status.cookie, repr(status))
        self.assertGreater(status.expires, reactor.seconds())
        # The cookie of that new session logs in too, as a cookie login.
        yield self.login(port, "bob", status.cookie)
        self.assertEqual(status_of(avatar_ids[1]).session, status.session)
        self.assertFalse(status_of(avatar_ids[1]).master)
        self.assertIsNone(status_of("bob"))
        self.assertNoSecrets(status.cookie, token)

    @defer.inlineCallbacks
    def test_a_cookie_login_through_a_subordinate(self) -> Any:
        cluster, master, _, game_token_file = yield self.master_with_users()
        _, edge_token_file = cluster.add_broker("edge1")
        _, edge = yield cluster.start_subordinate(master, "edge1", edge_token_file)
        checker = PBAuthChecker(reactor, endpoint(edge), "game1", token_file=game_token_file)
        port = self.app_broker(checker)
        yield checker.when_connected()

        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        avatar = yield self.login(port, "alice", status.cookie)
        self.assertEqual((yield avatar.callRemote("hello")), "hello alice")
        session = yield avatar.callRemote("session")
        self.assertEqual(session["session"], status.session)
        # The master saw the whole path: this broker (via=[game1]), then the subordinate.

        def audited() -> bool:
            entries = json.loads(cluster.admin("audit", "--json", "--database", cluster.database))
            return any(entry.get("account") == "alice" and entry.get("broker_path") == ["game1", "edge1"]
                       for entry in entries)

        yield eventually(audited)
        # A logout revokes the session through the subordinate too.
        yield avatar.callRemote("logout")
        yield self.refused(port, "alice", status.cookie)
        yield self.refused(master, "alice", status.cookie)

    @defer.inlineCallbacks
    def test_the_example_runs_as_the_readme_shows(self) -> Any:
        cluster, master, _, token_file = yield self.master_with_users()
        example, port = yield cluster.start_example(master, "game1", token_file)
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        avatar = yield self.login(port, "alice", status.cookie)
        self.assertEqual((yield avatar.callRemote("hello")), "hello alice")
        yield self.refused(port, "alice", "not the cookie")
        yield example.wait_for(lambda line: "pbauth.AuthenticationCookieMismatch" in line)
        yield example.stop()
        self.assertFalse(any(status.cookie in line for line in example.lines))

    # Refusals.

    @defer.inlineCallbacks
    def test_a_wrong_cookie_and_an_unknown_user_are_refused(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token)
        port = self.app_broker(checker)
        yield checker.when_connected()
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")

        yield self.assertFailure(authenticate(reactor, endpoint(master), "alice", "not her password"),
                                 UnauthorizedLogin)
        wrong = "not-the-cookie-" + "x" * 28
        yield self.refused(port, "alice", wrong)
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.AuthenticationCookieMismatch"))
        yield self.refused(port, "nobody", status.cookie)
        self.assertTrue(self.logs.has("refused the login of nobody", "pbauth.NoSuchAccount"))
        # The right cookie still works on the same broker.
        yield self.login(port, "alice", status.cookie)
        self.assertNoSecrets(wrong, status.cookie, token)

    @defer.inlineCallbacks
    def test_invalid_usernames_are_refused_without_asking_pbauth(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token)
        port = self.app_broker(checker)
        yield checker.when_connected()
        yield self.refused(port, "a" * 65, "secret")
        yield self.refused(port, b"\xff\xfe", "secret")
        yield self.refused(port, "with space", "secret")
        self.assertEqual(sum("invalid username" in line for line in self.logs.lines()), 3)
        self.assertFalse(self.logs.has("a" * 65))

    @defer.inlineCallbacks
    def test_a_broker_principal_is_refused_unless_allowed(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token)
        port = self.app_broker(checker)
        yield checker.when_connected()
        yield self.refused(port, "game1", token)
        self.assertTrue(self.logs.has("refused the login of game1", "pbauth_twisted.BrokerLoginRefused"))

        allowing = PBAuthChecker(reactor, endpoint(master), "game1", token, allow_brokers=True)
        allowing_port = self.app_broker(allowing)
        yield allowing.when_connected()
        avatar = yield self.login(allowing_port, "game1", token)
        self.assertEqual((yield avatar.callRemote("session"))["session"], "")
        self.assertNoSecrets(token)

    @defer.inlineCallbacks
    def test_a_wrong_token_keeps_the_link_down_and_every_login_is_refused(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", "W" * 43, reconnect_max_delay=0.2)
        port = self.app_broker(checker)
        yield eventually(lambda: self.logs.has("refused the login of broker game1"))
        self.assertFalse(checker.connected)
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        yield self.refused(port, "alice", status.cookie)
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.UpstreamUnavailable", "no working link"))
        self.assertNoSecrets("W" * 43, status.cookie)

    # The link.

    @defer.inlineCallbacks
    def test_the_upstream_down_then_back(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token, reconnect_max_delay=0.5)
        port = self.app_broker(checker)
        yield checker.when_connected()
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        yield self.login(port, "alice", status.cookie)

        yield cluster.daemons[0].stop()
        yield eventually(lambda: not checker.connected)
        yield self.refused(port, "alice", status.cookie)
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.UpstreamUnavailable"))
        yield task.deferLater(reactor, 1.0, lambda: None)  # a few refused reconnections
        self.assertTrue(self.logs.has("connection lost"))

        # Back on the same port (the sessions are in the database): the checker reconnects by itself.
        yield cluster.start_master(port=master)
        yield eventually(lambda: checker.connected)
        avatar = yield self.login(port, "alice", status.cookie)
        self.assertEqual((yield avatar.callRemote("hello")), "hello alice")

    @defer.inlineCallbacks
    def test_a_call_that_is_not_answered_in_time_is_refused(self) -> Any:
        # A stock Twisted PB upstream that takes the broker's login, answers ping(), and
        # never answers authenticate_account() or revoke_session().
        calls: List[str] = []

        class Stalling(pb.Avatar):
            def perspective_ping(self) -> None:
                return None

            def perspective_authenticate_account(self, *args: Any, **kwargs: Any) -> Deferred[Any]:
                calls.append("authenticate_account")
                return Deferred()

            def perspective_revoke_session(self, *args: Any) -> Deferred[Any]:
                calls.append("revoke_session")
                return Deferred()

        @implementer(IRealm)
        class Realm:
            def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
                return pb.IPerspective, Stalling(), lambda: None

        upstream = self.serve(pb.PBServerFactory(Portal(Realm(), [
            InMemoryUsernamePasswordDatabaseDontUse(game1=b"stall-token")])))
        checker = PBAuthChecker(reactor, endpoint(upstream), "game1", "stall-token", call_timeout=1.0)
        port = self.app_broker(checker)
        yield checker.when_connected()

        started = reactor.seconds()
        yield self.refused(port, "alice", "some-cookie")
        self.assertGreaterEqual(reactor.seconds() - started, 0.9)  # it waited for the limit, no longer refused at once
        self.assertEqual(calls, ["authenticate_account"])
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.UpstreamUnavailable",
                                      "did not answer authenticate_account() within 1 s"))
        # revoke_session is bounded the same way, and the link itself stays up.
        status = pbauth_twisted.Status("alice", "user", False, "some-session", 0)
        failure = yield self.assertFailure(checker.revoke_session(status), PBAuthError)
        self.assertEqual(failure.type, "pbauth.UpstreamUnavailable")
        self.assertTrue(checker.connected)

    @defer.inlineCallbacks
    def test_an_upstream_that_never_answers_the_broker_login_is_dropped(self) -> Any:
        # Accepts TCP and never sends a byte.
        opened: List[Any] = []
        closed: List[Any] = []

        class Silent(protocol.Protocol):
            def connectionMade(self) -> None:
                opened.append(self)

            def connectionLost(self, reason: Any = None) -> None:
                closed.append(self)

        factory = protocol.Factory.forProtocol(Silent)
        listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        checker = PBAuthChecker(reactor, endpoint(listening.getHost().port), "game1", "any-token",
                                call_timeout=1.0, reconnect_max_delay=0.2)
        port = self.app_broker(checker)
        # The checker gives up on the stalled login after its time limit and tries again.
        yield eventually(lambda: len(closed) >= 2)
        self.assertFalse(checker.connected)
        self.assertTrue(self.logs.has("the login of broker game1 failed", "no answer within 1 s"))
        yield self.refused(port, "alice", "some-cookie")
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.UpstreamUnavailable"))
        yield checker.stop()
        yield eventually(lambda: len(closed) == len(opened))

    @defer.inlineCallbacks
    def test_the_heartbeat_keeps_an_idle_link_open(self) -> Any:
        # The master closes a logged-in connection after 2 s without a message.
        cluster, master, token, _ = yield self.master_with_users(extra=["--set", "logged_in_idle_timeout=2"])
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token, heartbeat=0.3)
        port = self.app_broker(checker)
        yield checker.when_connected()
        yield task.deferLater(reactor, 4.0, lambda: None)  # well past the master's idle timeout
        self.assertTrue(checker.connected)
        self.assertFalse(self.logs.has("connection lost"))
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        yield self.login(port, "alice", status.cookie)

    @defer.inlineCallbacks
    def test_an_unanswered_heartbeat_drops_and_remakes_the_link(self) -> Any:
        logins: List[str] = []

        class Deaf(pb.Avatar):
            def perspective_ping(self) -> Deferred[None]:
                return Deferred()  # never answered

        @implementer(IRealm)
        class Realm:
            def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
                logins.append(avatar_id)
                return pb.IPerspective, Deaf(), lambda: None

        upstream = self.serve(pb.PBServerFactory(Portal(Realm(), [
            InMemoryUsernamePasswordDatabaseDontUse(game1=b"deaf-token")])))
        checker = PBAuthChecker(reactor, endpoint(upstream), "game1", "deaf-token", heartbeat=0.3,
                                call_timeout=1.0, reconnect_max_delay=0.2)
        self.app_broker(checker)
        yield eventually(lambda: len(logins) >= 2)
        self.assertTrue(self.logs.has("did not answer the heartbeat; reconnecting"))

    # Logout.

    @defer.inlineCallbacks
    def test_logout_revokes_the_session(self) -> Any:
        cluster, master, token, _ = yield self.master_with_users()
        checker = PBAuthChecker(reactor, endpoint(master), "game1", token)
        port = self.app_broker(checker)
        yield checker.when_connected()
        status = yield authenticate(reactor, endpoint(master), "alice", "wonderland")
        avatar = yield self.login(port, "alice", status.cookie)
        self.assertIsNone((yield avatar.callRemote("logout")))
        self.assertTrue(self.logs.has("revoked session", status.session, "alice"))

        # The cookie no longer logs in, here or at the master.
        yield self.refused(port, "alice", status.cookie)
        self.assertTrue(self.logs.has("refused the login of alice", "pbauth.InvalidPassword"))
        yield self.refused(master, "alice", status.cookie)
        # Revoking again is harmless.
        yield checker.revoke_session(status)
        self.assertNoSecrets(status.cookie, token)
