#!/usr/bin/env python3
"""Relay plain TCP connections to a TLS server, so plain-TCP test tools can reach HTTPS.

    tls_relay.py TLS_PORT [--host 127.0.0.1]

Prints `relay on PORT` (a free port on 127.0.0.1) and serves until killed. Each accepted
connection gets its own TLS connection (certificate not verified: this is for testing a server
one started oneself). What the client sends up to its half-close goes over TLS, followed by a
TCP half-close (no close_notify), which the server takes as the end of the request stream, as
over plain TCP; the server's end of stream closes the client's side. Used with the conformance vectors:

    python3 scripts/tls_relay.py 8443 &   # prints: relay on 41234
    python3 ../shared/conformance/run.py 127.0.0.1 41234
"""
import argparse
import socket
import ssl
import sys
import threading


def relay(client, host, port, ctx):
    """One connection: the client's bytes up to its half-close, then the server's answer.

    Sequential, because one SSL object must not be read and written from two threads at once;
    the conformance runner sends each case whole and half-closes before it reads.
    """
    request = b""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            request += data
        raw = socket.create_connection((host, port), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
    except OSError:
        client.close()
        return
    try:
        tls.sendall(request)
        socket.socket.shutdown(tls, socket.SHUT_WR)
    except OSError:
        pass
    try:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    tls.close()
    client.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tls_port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    listener = socket.create_server(("127.0.0.1", 0))
    print("relay on %d" % listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=relay, args=(client, args.host, args.tls_port, ctx), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
