"""A logged-in PB link to a pbauth broker, kept up with capped, jittered backoff.

The Python counterpart of the Swift `UpstreamLink` (Sources/PBAuthSubordinate): connect,
log in as a broker principal, call `ping()` every `heartbeat` seconds, and start over
after a lost or refused link. Every call it makes is answered within `call_timeout`
seconds or fails with `PBAuthError("pbauth.UpstreamUnavailable", ...)`.
"""

from __future__ import annotations

import random
from typing import Any, List, Optional, Union

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IDelayedCall, IStreamClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.spread import pb

from ._status import PBAuthError

UPSTREAM_UNAVAILABLE = "pbauth.UpstreamUnavailable"
OVERLOADED = "pbauth.Overloaded"

#: The first reconnection delay (seconds); it doubles after each failed attempt.
FIRST_DELAY = 0.05
#: Calls that timed out and are still unanswered on one link before the link is dropped.
MAXIMUM_UNANSWERED = 1024
#: The longest failure message kept for a log line.
MAXIMUM_MESSAGE = 200


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = value if isinstance(value, str) else type(value).__name__
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:MAXIMUM_MESSAGE]


def remote_error(reason: Failure) -> PBAuthError:
    """The `PBAuthError` for the failure of a call made over PB: a remote failure keeps its
    precise type (``pbauth.NoSuchAccount``...); anything local (a lost connection, a dead
    reference) is ``pbauth.UpstreamUnavailable``."""
    if isinstance(reason.value, PBAuthError):
        return reason.value
    if isinstance(reason, pb.CopiedFailure):
        return PBAuthError(_text(reason.type), _text(reason.value))
    if reason.check(pb.PBConnectionLost, pb.DeadReferenceError):
        return PBAuthError(UPSTREAM_UNAVAILABLE, "the link to the upstream was lost during the call")
    return PBAuthError(UPSTREAM_UNAVAILABLE, f"the call failed locally ({_text(reason.type.__name__)})")


def abort(broker: pb.Broker) -> None:
    """Closes `broker`'s connection at once, without waiting for unsent data."""
    transport = broker.transport
    if transport is not None:
        close = getattr(transport, "abortConnection", None) or transport.loseConnection
        close()


class _Connection:
    """One logged-in link: its broker, the broker avatar, its heartbeat and its count of
    timed-out calls still unanswered."""

    def __init__(self, broker: pb.Broker, avatar: pb.RemoteReference, connected_at: float) -> None:
        self.broker = broker
        self.avatar = avatar
        self.connected_at = connected_at
        self.unanswered = 0
        self.heartbeat: Optional[IDelayedCall] = None

    def drop(self) -> None:
        abort(self.broker)


class UpstreamLink:
    """Keeps one PB connection to `endpoint` logged in as broker principal `principal`."""

    def __init__(self, reactor: Any, endpoint: Union[str, IStreamClientEndpoint], principal: str, token: bytes,
                 *, call_timeout: float, heartbeat: float, reconnect_max_delay: float, max_pending_calls: int,
                 log: Logger) -> None:
        self._reactor = reactor
        self._endpoint: IStreamClientEndpoint = (
            clientFromString(reactor, endpoint) if isinstance(endpoint, str) else endpoint)
        self._description = endpoint if isinstance(endpoint, str) else repr(endpoint)
        self._principal = principal
        self._token = token
        self._call_timeout = call_timeout
        self._heartbeat = heartbeat
        self._max_delay = reconnect_max_delay
        self._max_pending = max_pending_calls
        self._log = log
        self._running = False
        self._delay = FIRST_DELAY
        self._attempt: Optional[Deferred[Any]] = None
        self._attempt_broker: Optional[pb.Broker] = None
        self._retry: Optional[IDelayedCall] = None
        self._connection: Optional[_Connection] = None
        self._pending = 0
        self._waiters: List[Deferred[None]] = []
        self._closed: List[Deferred[None]] = []

    # The link's life.

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def pending_calls(self) -> int:
        return self._pending

    def when_connected(self) -> Deferred[None]:
        if self._connection is not None:
            return defer.succeed(None)

        def forget(waiter: Deferred[None]) -> None:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

        waiter: Deferred[None] = Deferred(forget)
        self._waiters.append(waiter)
        return waiter

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._delay = FIRST_DELAY
        self._connect()

    def stop(self) -> Deferred[None]:
        """Stops reconnecting and closes the link; fires once the connection is closed."""
        self._running = False
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            self._attempt.cancel()
        broker = self._connection.broker if self._connection is not None else self._attempt_broker
        if broker is None or broker.disconnected:
            return defer.succeed(None)
        closed: Deferred[None] = Deferred()
        self._closed.append(closed)
        if self._connection is not None:
            self._connection.drop()
        return closed

    def _connect(self) -> None:
        factory = pb.PBClientFactory()
        factory.noisy = False  # no "Starting factory" line for every reconnection
        attempt = self._endpoint.connect(factory)
        attempt.addTimeout(self._call_timeout, self._reactor)
        self._attempt = attempt
        attempt.addCallbacks(self._connected, self._failed, callbackArgs=(factory,))

    def _connected(self, broker: pb.Broker, factory: pb.PBClientFactory) -> None:
        self._attempt_broker = broker
        broker.notifyOnDisconnect(lambda: self._lost(broker))
        # Bounded: an upstream that accepts the connection and never answers must not
        # hold the link (and every login behind it) forever.
        login: Deferred[Any] = factory.login(UsernamePassword(self._principal.encode("utf-8"), self._token))
        login.addTimeout(self._call_timeout, self._reactor)
        self._attempt = login
        login.addCallbacks(self._logged_in, self._login_failed, callbackArgs=(broker,), errbackArgs=(broker,))

    def _logged_in(self, avatar: pb.RemoteReference, broker: pb.Broker) -> None:
        self._attempt = None
        self._attempt_broker = None
        if not self._running or broker.disconnected:
            abort(broker)
            if broker.disconnected and self._running:
                self._schedule_retry()
            return
        if not isinstance(avatar, pb.RemoteReference):
            self._log.error("pbauth upstream {upstream} answered the broker login with no avatar; reconnecting",
                            upstream=self._description)
            abort(broker)
            self._schedule_retry()
            return
        connection = _Connection(broker, avatar, self._reactor.seconds())
        self._connection = connection
        self._log.info("pbauth upstream {upstream} connected as broker {broker}",
                       upstream=self._description, broker=self._principal)
        self._schedule_heartbeat(connection)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _login_failed(self, reason: Failure, broker: pb.Broker) -> None:
        self._attempt = None
        if reason.check(UnauthorizedLogin):
            self._log.error("pbauth upstream {upstream} refused the login of broker {broker}: "
                            "check the token and that the account is an enabled broker principal",
                            upstream=self._description, broker=self._principal)
        elif self._running:
            if broker.disconnected:
                error = "the upstream closed the connection"
            elif reason.check(defer.TimeoutError):
                error = f"no answer within {self._call_timeout:g} s"
            else:
                error = str(remote_error(reason))
            self._log.error("pbauth upstream {upstream}: the login of broker {broker} failed ({error})",
                            upstream=self._description, broker=self._principal, error=error)
        # The retry is scheduled when the connection is gone (`_lost`).
        if broker.disconnected:
            self._attempt_broker = None
            self._schedule_retry()
        else:
            abort(broker)

    def _failed(self, reason: Failure) -> None:
        self._attempt = None
        if self._running:
            self._log.debug("pbauth upstream {upstream} unreachable ({error})",
                            upstream=self._description, error=_text(reason.type.__name__))
        self._schedule_retry()

    def _lost(self, broker: pb.Broker) -> None:
        connection = self._connection
        if connection is not None and connection.broker is broker:
            self._connection = None
            if connection.heartbeat is not None and connection.heartbeat.active():
                connection.heartbeat.cancel()
            # The backoff starts over only after a link that held: an upstream that takes
            # the login and then breaks the link at once must not get a login every 50 ms.
            if self._reactor.seconds() - connection.connected_at >= self._max_delay:
                self._delay = FIRST_DELAY
            if self._running:
                self._log.warn("pbauth upstream {upstream} connection lost", upstream=self._description)
            self._schedule_retry()
        elif broker is self._attempt_broker:
            # Lost during the login: the login's Deferred would never fire on its own.
            self._attempt_broker = None
            if self._attempt is not None:
                self._attempt.cancel()
            else:
                self._schedule_retry()
        closed, self._closed = self._closed, []
        for waiter in closed:
            waiter.callback(None)

    def _schedule_retry(self) -> None:
        if not self._running or self._connection is not None or self._attempt is not None:
            return
        if self._retry is not None and self._retry.active():
            return
        # Full jitter: a random wait up to the current delay, then double it, capped.
        wait = random.uniform(0, self._delay) + 0.01
        self._delay = min(self._delay * 2, self._max_delay)
        self._retry = self._reactor.callLater(wait, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        if self._running and self._connection is None and self._attempt is None:
            self._connect()

    # Heartbeat.

    def _schedule_heartbeat(self, connection: _Connection) -> None:
        connection.heartbeat = self._reactor.callLater(self._heartbeat, self._beat, connection)

    def _beat(self, connection: _Connection) -> None:
        connection.heartbeat = None
        if connection is not self._connection:
            return

        def answered(_: object) -> None:
            if connection is self._connection:
                self._schedule_heartbeat(connection)

        def failed(reason: Failure) -> None:
            error = reason.value
            # A failure answer (an upstream without `ping`) still proves the link alive.
            if isinstance(error, PBAuthError) and error.type != UPSTREAM_UNAVAILABLE:
                answered(None)
            elif connection is self._connection:
                self._log.warn("pbauth upstream {upstream} did not answer the heartbeat; reconnecting",
                               upstream=self._description)
                connection.drop()

        self._call_on(connection, "ping").addCallbacks(answered, failed)

    # Calls.

    def call(self, method: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Calls `method` on the upstream's broker avatar. Fails with `PBAuthError`: the
        remote failure's own type, or ``pbauth.UpstreamUnavailable`` when there is no link,
        the link is lost or the answer does not come within the time limit, or
        ``pbauth.Overloaded`` when too many calls wait already."""
        connection = self._connection
        if connection is None:
            return defer.fail(PBAuthError(UPSTREAM_UNAVAILABLE, "no working link to the upstream"))
        if self._pending >= self._max_pending:
            return defer.fail(PBAuthError(OVERLOADED, f"{self._max_pending} calls already wait for the upstream"))
        return self._call_on(connection, method, *args, **kwargs)

    def _call_on(self, connection: _Connection, method: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        result: Deferred[Any] = Deferred()
        self._pending += 1
        state = {"done": False}

        def finish(outcome: Any) -> None:
            if state["done"]:
                # An answer after the time limit: discarded, and no longer counted as unanswered.
                connection.unanswered -= 1
                return
            state["done"] = True
            self._pending -= 1
            timer.cancel()
            if isinstance(outcome, Failure):
                result.errback(remote_error(outcome))
            else:
                result.callback(outcome)

        def timed_out() -> None:
            state["done"] = True
            self._pending -= 1
            connection.unanswered += 1
            result.errback(PBAuthError(UPSTREAM_UNAVAILABLE,
                                       f"the upstream did not answer {method}() within {self._call_timeout:g} s"))
            if connection.unanswered > MAXIMUM_UNANSWERED and connection is self._connection:
                self._log.warn("pbauth upstream {upstream} leaves more than {count} calls unanswered; reconnecting",
                               upstream=self._description, count=MAXIMUM_UNANSWERED)
                connection.drop()

        timer = self._reactor.callLater(self._call_timeout, timed_out)
        call = defer.maybeDeferred(connection.avatar.callRemote, method, *args, **kwargs)
        call.addBoth(finish)
        return result

