"""A raw peer of a TLS listener, for the bounds that must hold below and inside TLS.

Usage: tls_raw_peer.py PORT CA_FILE MODE
MODE is one of:
  silent-tcp   connect, send nothing (no TLS handshake), wait until the server closes
  silent-tls   finish the TLS handshake, then send nothing, wait until the server closes
  plain-pb     speak plain PB (the dialect choice "pb" and a message) without TLS, wait until the server closes
  oversized    inside TLS, choose the dialect, then send a 3,000-byte string (a stranger may
               send at most 2,048), wait until the server closes
Prints one JSON object: seconds until the server closed (or null after 60 s), the number of
bytes received before that, and whether they included PB's dialect offer in the clear.
"""
import json
import socket
import ssl
import sys
import time

DIALECT_CHOICE = b"\x02\x82pb"


def wait_for_close(read, start):
    received = b""
    deadline = start + 60
    while time.monotonic() < deadline:
        try:
            chunk = read()
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return time.monotonic() - start, received
        if not chunk:
            return time.monotonic() - start, received
        received += chunk
    return None, received


def main(port, ca_file, mode):
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
    sock.settimeout(1)
    if mode in ("silent-tcp", "plain-pb"):
        if mode == "plain-pb":
            sock.sendall(DIALECT_CHOICE + b"\x01\x80\x07\x82message")
        closed, received = wait_for_close(lambda: sock.recv(4096), start)
    else:
        context = ssl.create_default_context(cafile=ca_file)
        tls = context.wrap_socket(sock, server_hostname="localhost")
        offer = b""
        if mode == "oversized":
            # The server's dialect offer arrives first, inside TLS.
            while b"pb" not in offer:
                offer += tls.recv(4096)
            string = b"x" * 3000
            length = bytes([3000 % 128, 3000 // 128]) + b"\x82"
            tls.sendall(DIALECT_CHOICE + b"\x01\x80" + length + string)
        closed, received = wait_for_close(lambda: tls.recv(4096), start)
        received = offer + received
    print(json.dumps({
        "closed_after": closed,
        "received": len(received),
        "clear_dialect_offer": mode in ("silent-tcp", "plain-pb") and b"\x82pb" in received,
    }), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
