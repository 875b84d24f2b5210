"""An application broker whose logins pbauth decides: its own realm and avatar.

    python examples/app_broker.py --upstream tcp:host=127.0.0.1:port=8787 \\
        --broker game1 --token-file game1.token --listen tcp:9000:interface=127.0.0.1

A user gets a cookie from the master (`pbauth_twisted.authenticate`) and logs in here with
it (`pbauth_twisted.login_with_cookie`); the avatar answers `hello()`, `session()` and
`logout()`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, Tuple

from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, endpoints, task
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.spread import pb
from zope.interface import implementer

from pbauth_twisted import AvatarId, PBAuthChecker


class Player(pb.Avatar):
    """What a logged-in user gets: `avatar_id` is "alice", carrying her session's status."""

    def __init__(self, avatar_id: AvatarId, checker: PBAuthChecker) -> None:
        self.avatar_id = avatar_id
        self.checker = checker

    def perspective_hello(self) -> str:
        return f"hello {self.avatar_id}"

    def perspective_session(self) -> Dict[str, Any]:
        status = self.avatar_id.status  # the session behind this login
        return {"session": status.session, "expires": status.expires, "master": status.master}

    def perspective_logout(self) -> "defer.Deferred[None]":
        # Ends the session at pbauth: its cookie no longer logs in at any broker.
        return self.checker.revoke_session(self.avatar_id)


@implementer(IRealm)
class GameRealm:
    def __init__(self, checker: PBAuthChecker) -> None:
        self.checker = checker

    def requestAvatar(self, avatar_id: AvatarId, mind: Any, *interfaces: Any) -> Tuple[Any, Player, Any]:
        if pb.IPerspective not in interfaces:
            raise NotImplementedError("only PB perspectives")
        return pb.IPerspective, Player(avatar_id, self.checker), lambda: None


def make_factory(checker: PBAuthChecker) -> pb.PBServerFactory:
    """The application's PB server: a portal whose only checker is pbauth."""
    return pb.PBServerFactory(Portal(GameRealm(checker), [checker]))


def main(reactor: Any, *argv: str) -> "defer.Deferred[None]":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="pbauth master or subordinate, a client endpoint string")
    parser.add_argument("--broker", required=True, help="this broker's principal name at pbauth")
    parser.add_argument("--token-file", required=True, help="file holding the principal's token")
    parser.add_argument("--listen", default="tcp:9000:interface=127.0.0.1", help="a server endpoint string")
    options = parser.parse_args(argv)
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    checker = PBAuthChecker(reactor, options.upstream, options.broker, token_file=options.token_file)
    listening = endpoints.serverFromString(reactor, options.listen).listen(make_factory(checker))
    listening.addCallback(lambda port: print(f"app broker listening on port {port.getHost().port}", flush=True))
    return listening.addCallback(lambda _: defer.Deferred())  # serve until interrupted


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
