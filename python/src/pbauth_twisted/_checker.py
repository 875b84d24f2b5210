"""`PBAuthChecker`: a Twisted cred checker whose logins a pbauth broker decides."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernameHashedPassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ._link import UPSTREAM_UNAVAILABLE, UpstreamLink
from ._status import (MAXIMUM_CHALLENGE_BYTES, AvatarId, PBAuthError, Status, is_account_name,
                      recordable)

#: Every line of this package goes to Twisted's log in this namespace. (Not a class
#: attribute: as a descriptor, a Logger would take the class's name as its namespace.)
_log = Logger(namespace="pbauth_twisted")

#: The longest token accepted (pbauth's are 43 characters; a secret is at most 1,024 bytes).
_MAXIMUM_TOKEN_BYTES = 1024


def _read_token(token: Union[str, bytes, None], token_file: Union[str, "os.PathLike[str]", None]) -> bytes:
    if (token is None) == (token_file is None):
        raise TypeError("PBAuthChecker: give exactly one of token and token_file")
    raw: object
    if token_file is not None:
        with open(token_file, "rb") as file:
            raw = file.read(_MAXIMUM_TOKEN_BYTES + 2)
        where = f"the token file {os.fspath(token_file)!r}"
    else:
        raw = token.encode("utf-8") if isinstance(token, str) else token
        where = "the token"
    if not isinstance(raw, bytes):
        raise TypeError("PBAuthChecker: the token must be str or bytes")
    raw = raw.strip()
    if not raw or len(raw) > _MAXIMUM_TOKEN_BYTES:
        raise ValueError(f"PBAuthChecker: {where} is empty or longer than {_MAXIMUM_TOKEN_BYTES} bytes; "
                         "it is the last line `pbauth account add NAME --broker` printed")
    return raw


def _peer(credentials: object) -> str:
    """The client's address, where PB's challenger knows it (its `broker` attribute)."""
    try:
        peer = credentials.broker.transport.getPeer()  # type: ignore[attr-defined]
        return f"{peer.host}:{peer.port}"
    except Exception:
        return "unknown"


@implementer(ICredentialsChecker)
class PBAuthChecker:
    """A cred checker for PB logins whose answers come from a pbauth broker.

    Put it in the `Portal` of a PB server: `PBServerFactory` hands a checker an
    `IUsernameHashedPassword` (PB's challenger, with `.username`, `.challenge` and
    `.response`), and this checker asks pbauth with
    ``authenticate_account(username, challenge, response, via=[broker])`` on the broker
    avatar it holds at `endpoint` (the master, or a pbauth subordinate). A user logs in
    with their pbauth cookie (or, where the master keeps PB verifiers, their password).

    It fires with an `AvatarId`: the account name as a `str` (the realm gets ``"alice"``),
    carrying the login's `Status` (session id, expiry, `master` flag) as ``.status``.
    Every refusal fails with a plain `UnauthorizedLogin`, including an upstream that is
    down or did not answer within `call_timeout` seconds; the precise reason (a
    ``pbauth.*`` type) is logged to Twisted's log, namespace ``pbauth_twisted``, never a
    secret.

    The link to pbauth is made when the reactor runs (or by `start()`), kept up with a
    heartbeat every `heartbeat` seconds, and made again after a loss with a random wait up
    to a delay that starts at 50 ms and doubles to at most `reconnect_max_delay` seconds.
    Call `stop()` to close it (it is closed before the reactor shuts down).

    :param reactor: the reactor.
    :param endpoint: a client endpoint string (``"tcp:host=127.0.0.1:port=8787"``) or an
        `IStreamClientEndpoint`.
    :param broker: the broker principal's name (``pbauth account add NAME --broker``).
    :param token: its token, str or bytes; or give ``token_file=`` (surrounding white space
        is ignored).
    :param call_timeout: seconds each upstream call (and the link's login) may take.
    :param max_pending_calls: calls that may wait for pbauth at once; past it a login is
        refused (``pbauth.Overloaded`` in the log).
    :param allow_brokers: whether a broker principal may log in here with its token (its
        `Status.kind` is ``"broker"``); refused by default.
    """

    credentialInterfaces = (IUsernameHashedPassword,)

    def __init__(self, reactor: Any, endpoint: Union[str, IStreamClientEndpoint], broker: str,
                 token: Union[str, bytes, None] = None, *, token_file: Union[str, "os.PathLike[str]", None] = None,
                 call_timeout: float = 10.0, heartbeat: float = 60.0, reconnect_max_delay: float = 5.0,
                 max_pending_calls: int = 4096, allow_brokers: bool = False, start: bool = True) -> None:
        if not is_account_name(broker):
            raise ValueError(f"PBAuthChecker: {broker!r} is not an account name "
                             "(1 to 64 ASCII letters, digits, '.', '_', '-' or '@')")
        if call_timeout <= 0 or heartbeat <= 0 or reconnect_max_delay <= 0 or max_pending_calls < 1:
            raise ValueError("PBAuthChecker: call_timeout, heartbeat, reconnect_max_delay and "
                             "max_pending_calls must be positive")
        self._reactor = reactor
        self._broker = broker
        self._allow_brokers = allow_brokers
        self._link = UpstreamLink(reactor, endpoint, broker, _read_token(token, token_file),
                                  call_timeout=call_timeout, heartbeat=heartbeat,
                                  reconnect_max_delay=reconnect_max_delay, max_pending_calls=max_pending_calls,
                                  log=_log)
        self._shutdown_trigger: Optional[Any] = None
        if start:
            reactor.callWhenRunning(self.start)

    # The link.

    def start(self) -> None:
        """Connects to pbauth and keeps the link up until `stop()` (idempotent)."""
        if self._shutdown_trigger is None:
            self._shutdown_trigger = self._reactor.addSystemEventTrigger("before", "shutdown", self.stop)
        self._link.start()

    def stop(self) -> Deferred[None]:
        """Closes the link and stops reconnecting; fires when the connection is closed.
        Logins are refused from then on."""
        if self._shutdown_trigger is not None:
            trigger, self._shutdown_trigger = self._shutdown_trigger, None
            try:
                self._reactor.removeSystemEventTrigger(trigger)
            except (ValueError, KeyError):
                pass
        return self._link.stop()

    @property
    def connected(self) -> bool:
        """Whether the link to pbauth is logged in now."""
        return self._link.connected

    def when_connected(self, timeout: Optional[float] = None) -> Deferred[None]:
        """Fires when the link is logged in (at once if it is). Without a `timeout` (seconds)
        it may never fire; with one it fails with `twisted.internet.defer.TimeoutError`."""
        waiter = self._link.when_connected()
        if timeout is not None:
            waiter.addTimeout(timeout, self._reactor)
        return waiter

    # ICredentialsChecker.

    def requestAvatarId(self, credentials: Any) -> Deferred[AvatarId]:
        """Asks pbauth about a PB login; fires with the `AvatarId`, or fails with
        `UnauthorizedLogin` (the reason is logged)."""
        source = _peer(credentials)
        username = getattr(credentials, "username", None)
        if isinstance(username, bytes):
            try:
                username = username.decode("utf-8")
            except UnicodeDecodeError:
                username = None
        if not is_account_name(username):
            return self._refuse(None, source, "invalid username", "not an account name")
        challenge = getattr(credentials, "challenge", None)
        response = getattr(credentials, "response", None)
        if not (isinstance(challenge, bytes) and isinstance(response, bytes)):
            return self._refuse(username, source, "invalid credentials",
                                "no PB challenge and response (only PB logins can be checked)")
        if len(challenge) > MAXIMUM_CHALLENGE_BYTES or len(response) > MAXIMUM_CHALLENGE_BYTES:
            return self._refuse(username, source, "invalid credentials",
                                f"challenge or response longer than {MAXIMUM_CHALLENGE_BYTES} bytes")
        call = self._link.call("authenticate_account", username, challenge, response, via=[self._broker])
        result: Deferred[AvatarId] = call.addCallback(self._answered, username, source)
        result.addErrback(self._failed, username, source)
        return result

    def _answered(self, answer: Any, username: str, source: str) -> AvatarId:
        try:
            status = Status.from_wire(answer)
        except ValueError as error:
            raise PBAuthError(UPSTREAM_UNAVAILABLE, f"the upstream's answer is not a status ({error})")
        if status.username != username:
            raise PBAuthError(UPSTREAM_UNAVAILABLE, "the upstream answered for another account")
        if status.kind == "broker" and not self._allow_brokers:
            raise PBAuthError("pbauth_twisted.BrokerLoginRefused",
                              "a broker principal logged in with its token, and allow_brokers is off")
        _log.info("pbauth login of {account} from {peer} ({method}, session {session})",
                      account=username, peer=source, session=status.session,
                      method="token" if status.kind == "broker" else "password" if status.master else "cookie")
        return AvatarId(status)

    def _failed(self, reason: Failure, username: str, source: str) -> Failure:
        if isinstance(reason.value, PBAuthError):
            return self._refusal(username, source, reason.value.type, reason.value.message)
        # Not expected: a bug here. The user is refused like any other; the log has the details.
        _log.failure("pbauth login of {account} failed unexpectedly", reason, account=username)
        return Failure(UnauthorizedLogin())

    def _refuse(self, username: Optional[str], source: str, reason: str, message: str) -> Deferred[AvatarId]:
        return defer.fail(self._refusal(username, source, reason, message))

    def _refusal(self, username: Optional[str], source: str, reason: str, message: str) -> Failure:
        _log.info("pbauth refused the login of {account} from {peer}: {reason} ({detail})",
                      account=recordable(username), peer=source, reason=reason, detail=message)
        return Failure(UnauthorizedLogin())

    # Sessions.

    def revoke_session(self, login: Union[AvatarId, Status]) -> Deferred[None]:
        """Revokes the session behind `login` (what this checker fired with, or its
        `Status`) at the master, so that its cookie no longer logs in anywhere: the call
        for a realm's logout. Fails with `PBAuthError` (``pbauth.UpstreamUnavailable``
        when pbauth cannot be reached in time: the caller may retry)."""
        status = login if isinstance(login, Status) else getattr(login, "status", None)
        if not isinstance(status, Status):
            return defer.fail(TypeError("revoke_session() takes the AvatarId that PBAuthChecker fired with, "
                                        "or its Status"))
        if status.kind == "broker" or not status.session:
            return defer.succeed(None)  # a broker principal's login has no session

        def revoked(_: object) -> None:
            _log.info("pbauth revoked session {session} of {account}",
                          session=status.session, account=status.username)

        def failed(reason: Failure) -> Failure:
            error = reason.value
            if isinstance(error, PBAuthError):
                _log.warn("pbauth could not revoke session {session} of {account}: {reason} ({detail})",
                              session=status.session, account=status.username, reason=error.type,
                              detail=error.message)
            return reason

        call = self._link.call("revoke_session", status.username, status.session)
        return call.addCallbacks(revoked, failed)
