#!/usr/bin/env python3
"""One request and one reply over two FIFOs, opened in the order you choose.

usage: pingpong.py {server,client} REQUESTS REPLIES [--first {requests,replies}]

The client writes b"ping" into REQUESTS and reads the reply from REPLIES;
the server reads the request from REQUESTS and writes b"pong" into REPLIES.
Each opens both FIFOs, one after the other, and --first says which one it
opens first (default: requests).  Opening a FIFO waits for the other end,
so the order matters.  It says what it does, one line per step.
"""

import argparse
import os
import signal
import stat
import sys

signal.alarm(60)  # whatever happens, this process is gone after a minute

parser = argparse.ArgumentParser(description="One request and one reply over two FIFOs.")
parser.add_argument("role", choices=["server", "client"])
parser.add_argument("requests", help="FIFO for the request (client to server)")
parser.add_argument("replies", help="FIFO for the reply (server to client)")
parser.add_argument("--first", choices=["requests", "replies"], default="requests")
args = parser.parse_args()

me = f"{args.role} pid [{os.getpid()}]"


def say(text):
    print(f"{me}: {text}", flush=True)


paths = {"requests": args.requests, "replies": args.replies}
reads = "requests" if args.role == "server" else "replies"  # the FIFO this side reads
order = ["requests", "replies"] if args.first == "requests" else ["replies", "requests"]
fds = {}
try:
    for name in order:
        flags = os.O_RDONLY if name == reads else os.O_WRONLY
        say(f"opening {name!r} for {'reading' if flags == os.O_RDONLY else 'writing'}")
        fds[name] = os.open(paths[name], flags | os.O_NOFOLLOW)  # waits for the other end
        if not stat.S_ISFIFO(os.fstat(fds[name]).st_mode):
            sys.exit(f"{me}: {name!r} is not a FIFO; leaving it alone")
        say(f"opened {name!r}")
    if args.role == "client":
        os.write(fds["requests"], b"ping")
        say(f"received {os.read(fds['replies'], 100)!r}")
    else:
        say(f"received {os.read(fds['requests'], 100)!r}")
        os.write(fds["replies"], b"pong")
except OSError as e:
    sys.exit(f"{me}: {e.strerror}")
finally:
    for fd in fds.values():
        os.close(fd)
say("done")
