"""Typical wrong answers to the assignments, and the grade cells each must lose (and no others).

Each entry: assignment -> variant name -> (replacement sources for solution cells by cell id,
the grade cells that must score 0; every other grade cell must keep full marks).
"""

STAT_FOLLOWS_LINKS = """
def is_fifo(path):
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)  # follows symbolic links
    except FileNotFoundError:
        return False
"""

IGNORES_UMASK = """
def ensure_fifo(path, mode):
    try:
        os.mkfifo(path, mode)  # the umask takes bits away, and nothing puts them back
    except FileExistsError:
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            raise
"""

CHECK_THEN_CREATE = """
def ensure_fifo(path, mode):
    if os.path.exists(path):  # the book's look-then-create: another process can slip in between
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            raise FileExistsError(path)
        return
    os.mkfifo(path, mode)
    os.chmod(path, mode)
"""

READ_LINES_ONCE = """
def read_lines(fd):
    return os.read(fd, 65536).split(b"\\n")[:-1]  # one read: whatever happens to be there
"""

DECODE_EACH_CHUNK = """
def decode_chunks(chunks):
    return "".join(chunk.decode("utf-8") for chunk in chunks)  # a piece may end inside a character
"""

BLOCKING_OPEN = """
def read_message(path, timeout):
    fd = os.open(path, os.O_RDONLY)  # waits for a writer, however long
    try:
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
        return data
    finally:
        os.close(fd)
"""

FIRST_EMPTY_READ_IS_EOF = """
def read_message(path, timeout):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        data = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                if not poller.poll(timeout * 1000):
                    raise TimeoutError from None
                continue
            if not chunk:  # the trap: before the first writer comes, read() returns b"" too
                return data
            data += chunk
    finally:
        os.close(fd)
"""

READ_MESSAGE_ONCE = """
def read_message(path, timeout):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise TimeoutError
        return os.read(fd, 65536)  # one read: the rest of the message is lost
    finally:
        os.close(fd)
"""

SERVER_IN_BYTES = """
%%writefile upper_server.py
import os
import stat
import sys

for path in sys.argv[1:3]:
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    os.chmod(path, 0o600)
while True:
    with open(sys.argv[1], "rb") as inbox, open(sys.argv[2], "wb") as outbox:
        for line in inbox:
            outbox.write(line.upper())  # bytes.upper(): ASCII letters only
            outbox.flush()
"""

CLIENT_WRONG_ORDER = """
%%writefile upper_client.py
import errno
import os
import sys
import time

requests, replies, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
inbox = open(replies, encoding="utf-8")  # the server opens requests first: both now wait for ever
deadline = time.monotonic() + 2
while True:
    try:
        fd = os.open(requests, os.O_WRONLY | os.O_NONBLOCK)
        break
    except OSError as e:
        if e.errno != errno.ENXIO or time.monotonic() > deadline:
            sys.exit(f"upper_client: no server: {e.strerror}")
        time.sleep(0.02)
os.set_blocking(fd, True)
with open(fd, "w", encoding="utf-8") as outbox, inbox:
    for text in texts:
        outbox.write(text + "\\n")
        outbox.flush()
        print(inbox.readline().rstrip("\\n"))
"""

CLEANUP_WITH_ATEXIT_ONLY = """
%%writefile clean_server.py
import atexit
import os
import stat
import sys

path = os.path.join(sys.argv[1], "server.fifo")
try:
    os.mkfifo(path, 0o600)
except FileExistsError:
    if not stat.S_ISFIFO(os.lstat(path).st_mode):
        print(f"clean_server: {path} is not a FIFO", file=sys.stderr)
        sys.exit(2)
os.chmod(path, 0o600)
atexit.register(os.unlink, path)  # not run when SIGTERM's default action ends the process
print("ready", flush=True)
while True:
    with open(path, encoding="utf-8") as inbox:
        for line in inbox:
            if line.rstrip("\\n") == "STOP":
                sys.exit(0)
            print("got:", line.rstrip("\\n"), flush=True)
"""

SERVER_IGNORES_UMASK = """
%%writefile clean_server.py
import os
import signal
import stat
import sys


def stop(signum, frame):
    raise SystemExit(0)


path = os.path.join(sys.argv[1], "server.fifo")
try:
    os.mkfifo(path, 0o600)  # no chmod: the umask takes bits away
except FileExistsError:
    if not stat.S_ISFIFO(os.lstat(path).st_mode):
        print(f"clean_server: {path} is not a FIFO", file=sys.stderr)
        sys.exit(2)
signal.signal(signal.SIGTERM, stop)
try:
    print("ready", flush=True)
    while True:
        with open(path, encoding="utf-8") as inbox:
            for line in inbox:
                if line.rstrip("\\n") == "STOP":
                    sys.exit(0)
                print("got:", line.rstrip("\\n"), flush=True)
except KeyboardInterrupt:
    pass
finally:
    os.unlink(path)
"""

_COLLECTOR = """
%%writefile collector.py
import json
import os
import signal
import stat
import struct
import sys


def stop(signum, frame):
    raise SystemExit(0)


path = sys.argv[1]
try:
    os.mkfifo(path, 0o600)
except FileExistsError:
    pass
os.chmod(path, 0o600)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
try:
    OPEN
    print("ready", flush=True)
    while True:
        READ
        record = json.loads(payload.decode("utf-8"))
        print(json.dumps(record), flush=True)
finally:
    os.unlink(path)
"""

COLLECTOR_ASSUMES_WHOLE_FRAMES = _COLLECTOR.replace(
    "OPEN",
    "fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)\n"
    "    keep = os.open(path, os.O_WRONLY)\n"
    "    os.set_blocking(fd, True)",
).replace(
    "READ",
    "(n,) = struct.unpack('>I', os.read(fd, 4))  # a read may return fewer bytes than asked for\n"
    "        payload = os.read(fd, n)",
)

COLLECTOR_SPINS = _COLLECTOR.replace(
    "OPEN",
    "fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # no writer of its own: b'' between writers\n"
    "\n"
    "    def read_exactly(n):\n"
    "        data = b''\n"
    "        while len(data) < n:\n"
    "            try:\n"
    "                data += os.read(fd, n - len(data))  # b'' again and again: a busy loop\n"
    "            except BlockingIOError:\n"
    "                pass\n"
    "        return data\n",
).replace(
    "READ",
    "(n,) = struct.unpack('>I', read_exactly(4))\n        payload = read_exactly(n)",
)

WRONG_ANSWERS = {
    "01-warm-ups": {
        "is_fifo follows symbolic links": ({"is-fifo": STAT_FOLLOWS_LINKS}, {"test-is-fifo"}),
        "ensure_fifo ignores the umask": ({"ensure-fifo": IGNORES_UMASK}, {"test-ensure-mode"}),
        "ensure_fifo checks, then creates": ({"ensure-fifo": CHECK_THEN_CREATE}, {"test-ensure-race"}),
        "read_lines reads once": (
            {"read-lines": READ_LINES_ONCE},
            {"test-read-lines", "test-read-lines-cut"},
        ),
        "decode_chunks decodes each piece alone": ({"decode-chunks": DECODE_EACH_CHUNK}, {"test-decode"}),
    },
    "02-timeout-reader": {
        "opens without O_NONBLOCK": (
            {"read-message": BLOCKING_OPEN},
            {"test-no-writer", "test-stalled-writer", "test-closes", "test-by-hand"},
        ),
        "takes the first b'' for the end": (
            {"read-message": FIRST_EMPTY_READ_IS_EOF},
            {"test-late-writer", "test-pieces", "test-no-writer", "test-stalled-writer"},
        ),
        "reads once": ({"read-message": READ_MESSAGE_ONCE}, {"test-pieces", "test-stalled-writer"}),
    },
    "03-uppercase-service": {
        "upper case of bytes": ({"server": SERVER_IN_BYTES}, {"test-unicode-server"}),
        "client opens the FIFOs in the other order": (
            {"client": CLIENT_WRONG_ORDER},
            {"test-pair", "test-second-client", "test-no-server", "test-client-reference"},
        ),
    },
    "04-clean-server": {
        "cleans up with atexit only": (
            {"server": CLEANUP_WITH_ATEXIT_ONLY},
            {"test-sigterm-open", "test-sigterm-read"},
        ),
        "ignores the umask": ({"server": SERVER_IGNORES_UMASK}, {"test-mode"}),
    },
    "05-log-collector": {
        "collector assumes a frame arrives whole": (
            {"collector": COLLECTOR_ASSUMES_WHOLE_FRAMES},
            {"test-reference-writer"},
        ),
        "collector spins between writers": ({"collector": COLLECTOR_SPINS}, {"test-idle"}),
    },
}
