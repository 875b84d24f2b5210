"""Real pbauth daemons for the tests, started from the built binary.

The binary is `$PBAUTH_BINARY`, else `.build/debug/pbauth` of this repository (run
`swift build` first; `scripts/test-python` does this through `scripts/test`). Ports are
chosen by the OS: each daemon listens on 127.0.0.1:0 and its log line
`pbauth ROLE listening on 127.0.0.1:PORT` says which port it got.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any, Callable, List, Optional, Tuple

from twisted.internet import defer, protocol, reactor
from twisted.internet.defer import Deferred
from twisted.trial import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PBAUTH = os.environ.get("PBAUTH_BINARY") or os.path.join(ROOT, ".build", "debug", "pbauth")
#: Small scrypt parameters keep the tests fast.
SCRYPT = {"PBAUTH_SCRYPT_LN": "4"}
#: The tests log in from 127.0.0.1 with wrong secrets on purpose: no per-source throttle.
UNTHROTTLED = ["--set", "throttle_free_failures=1000000"]
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class Daemon(protocol.ProcessProtocol):
    """A running pbauth daemon whose output lines a test can wait for."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.lines: List[str] = []
        self._partial = {1: b"", 2: b""}
        self._watchers: List[Tuple[Callable[[str], bool], Deferred[str]]] = []
        self.ended: Deferred[None] = Deferred()
        self.running = True

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        *complete, self._partial[childFD] = (self._partial.get(childFD, b"") + data).split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            for watcher in list(self._watchers):
                if watcher[0](line):
                    self._watchers.remove(watcher)
                    watcher[1].callback(line)

    def processEnded(self, reason: Any) -> None:
        self.running = False
        watchers, self._watchers = self._watchers, []
        for _, waiter in watchers:
            waiter.errback(RuntimeError(f"pbauth {self.role} exited:\n" + "\n".join(self.lines[-30:])))
        self.ended.callback(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30.0) -> Deferred[str]:
        """The first line (so far or later) satisfying `predicate`; fails after `timeout` s."""
        for line in self.lines:
            if predicate(line):
                return defer.succeed(line)
        if not self.running:
            return defer.fail(RuntimeError(f"pbauth {self.role} exited:\n" + "\n".join(self.lines[-30:])))
        waiter: Deferred[str] = Deferred()
        self._watchers.append((predicate, waiter))

        def timed_out(reason: Any) -> Any:
            if reason.check(defer.TimeoutError):
                raise AssertionError(f"pbauth {self.role}: no such line within {timeout} s:\n"
                                     + "\n".join(self.lines[-30:]))
            return reason

        waiter.addTimeout(timeout, reactor)
        return waiter.addErrback(timed_out)

    def stop(self, sig: int = signal.SIGTERM) -> Deferred[None]:
        """Signals the daemon and fires when it has exited (killed after 10 s)."""
        if not self.running:
            return defer.succeed(None)
        self.transport.signalProcess("TERM" if sig == signal.SIGTERM else "KILL")
        kill = reactor.callLater(10, self._kill)
        ended: Deferred[None] = Deferred()

        def done(_: object) -> None:
            if kill.active():
                kill.cancel()
            ended.callback(None)

        self.ended.addCallback(lambda _: done(None))
        return ended

    def _kill(self) -> None:
        if self.running:
            self.transport.signalProcess("KILL")


class Cluster:
    """A master's database in a temporary folder, and the daemons a test starts over it."""

    def __init__(self, test: unittest.TestCase) -> None:
        if not os.access(PBAUTH, os.X_OK):
            raise AssertionError(f"no pbauth binary at {PBAUTH}: run `swift build` (or set PBAUTH_BINARY)")
        self.folder = os.path.abspath(test.mktemp())
        os.makedirs(self.folder)
        self.database = os.path.join(self.folder, "master.sqlite")
        self.daemons: List[Daemon] = []
        test.addCleanup(self.stop_all)
        self.admin("migrate", "--database", self.database)

    def admin(self, *arguments: str, input: Optional[str] = None) -> str:
        """Runs the admin command; raises on a non-zero exit. Returns standard output."""
        outcome = subprocess.run([PBAUTH, *arguments], input=input, capture_output=True, text=True,
                                 env={**os.environ, **SCRYPT}, timeout=60)
        if outcome.returncode != 0:
            raise AssertionError(f"pbauth {' '.join(arguments)} failed: {outcome.stderr}")
        return outcome.stdout

    def add_user(self, name: str, password: str) -> None:
        self.admin("account", "add", name, "--database", self.database, "--password-stdin", input=password + "\n")

    def add_broker(self, name: str) -> Tuple[str, str]:
        """Adds a broker principal; returns its token and a file holding it."""
        token = self.admin("account", "add", name, "--broker", "--database", self.database).strip().splitlines()[-1]
        path = os.path.join(self.folder, f"{name}.token")
        with open(path, "w") as file:
            file.write(token + "\n")
        return token, path

    def _spawn(self, role: str, arguments: List[str], executable: str = PBAUTH) -> Daemon:
        daemon = Daemon(role)
        reactor.spawnProcess(daemon, executable, [executable, *arguments], env={**os.environ, **SCRYPT})
        self.daemons.append(daemon)
        return daemon

    @defer.inlineCallbacks
    def start_master(self, port: int = 0, extra: Optional[List[str]] = None) -> Any:
        """Starts a master; fires with (daemon, port)."""
        daemon = self._spawn("master", [
            "master", "--database", self.database, "--listen", f"127.0.0.1:{port}",
            "--set", "scrypt_ln=4", "--set", "flush_interval_ms=50", *UNTHROTTLED, *(extra or [])])
        line = yield daemon.wait_for(lambda line: "pbauth master listening on" in line)
        return daemon, int(LISTENING.search(line).group(1))

    @defer.inlineCallbacks
    def start_subordinate(self, upstream_port: int, broker: str, token_file: str,
                          extra: Optional[List[str]] = None) -> Any:
        """Starts a subordinate of `upstream_port`; fires with (daemon, port) once its upstream link is up."""
        daemon = self._spawn("subordinate", [
            "subordinate", "--upstream", f"127.0.0.1:{upstream_port}", "--broker", broker,
            "--token-file", token_file, "--listen", "127.0.0.1:0", "--set", "reconnect_max_delay_ms=200",
            *UNTHROTTLED, *(extra or [])])
        line = yield daemon.wait_for(lambda line: "pbauth subordinate listening on" in line)
        yield daemon.wait_for(lambda line: "upstream connected" in line)
        return daemon, int(LISTENING.search(line).group(1))

    @defer.inlineCallbacks
    def start_example(self, upstream_port: int, broker: str, token_file: str) -> Any:
        """Runs python/examples/app_broker.py with this Python; fires with (process, port)
        once it listens and its link to pbauth is up."""
        daemon = self._spawn("example", [
            os.path.join(ROOT, "python", "examples", "app_broker.py"), "--upstream",
            f"tcp:host=127.0.0.1:port={upstream_port}", "--broker", broker, "--token-file", token_file,
            "--listen", "tcp:0:interface=127.0.0.1"], executable=sys.executable)
        line = yield daemon.wait_for(lambda line: "app broker listening on port" in line)
        yield daemon.wait_for(lambda line: "connected as broker" in line)
        return daemon, int(line.rsplit(" ", 1)[1])

    def stop_all(self) -> Deferred[Any]:
        return defer.gatherResults([daemon.stop(signal.SIGKILL) for daemon in self.daemons])

