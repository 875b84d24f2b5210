"""Client helpers: get a cookie from the master, log in with it anywhere."""

from __future__ import annotations

from typing import Any, Union

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.python.failure import Failure
from twisted.spread import pb

from ._status import Status


def _bytes(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _unauthorized(reason: Failure) -> Failure:
    """A remote `UnauthorizedLogin` as a local one, so that ``except UnauthorizedLogin``
    works after ``await`` or ``yield`` (a remote copy would raise `pb.RemoteError`)."""
    if isinstance(reason, pb.CopiedFailure) and reason.check(UnauthorizedLogin):
        return Failure(UnauthorizedLogin())
    return reason


def authenticate(reactor: Any, endpoint: Union[str, IStreamClientEndpoint], username: str,
                 password: Union[str, bytes], *, timeout: float = 30.0) -> Deferred[Status]:
    """Calls the master's ``authenticate(username, password)`` (protocol.md section 2): a
    password login that starts a session. Fires with its `Status`, whose `cookie` the user
    then logs in with at any broker (`login_with_cookie`).

    The master accepts it only from a loopback address or over TLS (unless its
    `allow_remote_authenticate` is on). A refusal fails with `UnauthorizedLogin`; no answer
    within `timeout` seconds fails with `twisted.internet.defer.TimeoutError`; a connection
    that cannot be made fails with the endpoint's error.
    """
    target = clientFromString(reactor, endpoint) if isinstance(endpoint, str) else endpoint
    factory = pb.PBClientFactory()
    factory.noisy = False

    def connected(broker: pb.Broker) -> Deferred[Any]:
        call: Deferred[Any] = factory.getRootObject()
        call.addCallback(lambda root: root.callRemote("authenticate", username, password))

        def close(outcome: Any) -> Any:
            if broker.transport is not None:
                broker.transport.loseConnection()
            return outcome

        return call.addBoth(close)

    def status(answer: Any) -> Status:
        try:
            found = Status.from_wire(answer)
        except ValueError as error:
            raise ValueError(f"authenticate: the answer is not a pbauth status ({error})") from None
        if found.cookie is None:
            raise ValueError("authenticate: the answer holds no cookie")
        return found

    # Plain callbacks, not inlineCallbacks: a generator would turn the remote failure
    # into pb.RemoteError before `_unauthorized` could see it.
    result: Deferred[Any] = target.connect(factory)
    result.addCallback(connected).addCallback(status)
    result.addTimeout(timeout, reactor)
    return result.addErrback(_unauthorized)


def login_with_cookie(factory: pb.PBClientFactory, username: Union[str, bytes], cookie: Union[str, bytes],
                      mind: Any = None) -> Deferred[pb.RemoteReference]:
    """A cookie login through `factory` (already connected, or connecting): PB's
    challenge-response with the cookie as the secret, at the master, a subordinate, or an
    application broker whose portal uses `PBAuthChecker`. Fires with the avatar; a refusal
    fails with `UnauthorizedLogin`. `mind` is PB's client object, passed on as it is."""
    credentials = UsernamePassword(_bytes(username), _bytes(cookie))
    return factory.login(credentials, client=mind).addErrback(_unauthorized)
