"""Self-checks, hints and answers for the exercises notebook (99).

Each ``check_...`` function runs your function (or your prediction) against
a set of cases and prints one line per problem it finds, with a hint about
what went wrong, or a single line saying that everything passes.  It returns
True when everything passed, so a notebook cell can ``assert`` it.

Every check is bounded in time: it uses temporary FIFOs and real writer
processes with timeouts, runs your code in a thread that it stops waiting for
after a time limit (completing any FIFO open that thread is stuck in), and
removes everything it created.  No check sleeps to put things in order: where
the order matters, the writer waits for the reader (``wait_until_read``);
writer processes that do not depend on each other start at the same time; and
the race of chapter 03, which a real run hits only now and then, is made to
happen at its worst moment every time (``check_ensure_fifo``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .fifo import Workspace, make_fifo, path_kind
from .procs import launch_writer
from .show import short

#: The name of every thread in which a check runs the learner's code.
CHECK_THREAD = "self-check"

#: How many times ``check_ensure_fifo`` lets 8 threads race on one path.  A
#: rival that comes at the worst moment is tested separately, every time, so a
#: few rounds are enough to show that simultaneous calls all succeed.
RACE_ROUNDS = 3

#: The timeout ``check_receive`` gives ``receive`` when no writer exists at all.
#: Nobody can ever open the other end, so a short one proves as much as a long one.
NO_WRITER_TIMEOUT = 0.1

HINTS = {
    "is-fifo": "Look at the file type without following symbolic links: which stat function does not "
    "follow them, and which function of the stat module recognises a FIFO? A missing path is not a FIFO: "
    "no exception may escape.",
    "ensure-fifo": "Do not ask first: try to create the FIFO, and only if that fails because something "
    "is already there, look at what it is (without following links). mkfifo's mode is reduced by the "
    "umask; which call sets permissions exactly?",
    "nonblocking-open": "Chapter 04: O_NONBLOCK treats the two ends differently. One end may open alone, "
    "the other is refused at once (which errno?). A read with no writer connected returns...",
    "decode-chunks": "A chunk can end in the middle of a character, so decoding each chunk on its own "
    "fails. The codecs module has a decoder that keeps unfinished bytes until the next chunk; "
    "remember to tell it when the input is over.",
    "read-lines": "Keep a bytearray buffer. After each os.read, split off every complete line "
    "(up to b'\\n'). "
    "At end of file (os.read returns b''), leftover bytes mean the last message was cut short.",
    "pipe-buf": "Chapter 07: the limit has a name in the select module, and man 7 pipe says what the "
    "kernel promises for writes of at most that many bytes.",
    "receive": "The book's reader has three flaws: its open() can wait forever, it reads a fixed 22 bytes "
    "instead of until end of file, and it does not close the descriptor if something fails. "
    "ipc_helpers has an open and a read that take a timeout (chapter 00 uses both).",
    "sticky-hup": "Chapter 08: once the last writer has gone, poll() reports the same event on every call "
    "until a new writer connects (or you close the FIFO).",
    "eof-sequence": "Chapter 05 and the explorer (09): data first, then end of file once no writer is left.",
}


def hint(exercise: str) -> None:
    """Print the hint for ``exercise`` (an id such as ``"decode-chunks"``)."""
    print(f"Hint ({exercise}): {HINTS[exercise]}")


def _report(problems: list[str], passed: int) -> bool:
    if problems:
        for problem in problems:
            print("  ✗", problem)
        print(f"{len(problems)} problem(s), {passed} case(s) passed. Try again (hint() can help).")
        return False
    print(f"All {passed} cases pass. Well done!")
    return True


def _compare_predictions(predictions: list[tuple[str, object, object]]) -> bool:
    """Compare each (what, the learner's guess, the value measured here) and report."""
    problems, passed = [], 0
    for what, guess, actual in predictions:
        if guess == actual:
            passed += 1
        else:
            problems.append(f"{what}: you predicted {guess!r}, this machine says {actual!r}")
    return _report(problems, passed)


# ---------------------------------------------------------------- is_fifo


def check_is_fifo(is_fifo: Callable[[str], bool]) -> bool:
    """Check ``is_fifo(path) -> bool`` on a FIFO, files, a directory, symlinks, a socket, nothing."""
    problems, passed = [], 0
    with Workspace() as ws:
        make_fifo(ws / "fifo")
        (ws / "file").write_text("x")
        (ws / "dir").mkdir()
        os.symlink("fifo", ws / "link-to-fifo")
        os.symlink("missing", ws / "dangling")
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(ws / "socket"))
            cases = {
                "fifo": True,
                "file": False,
                "dir": False,
                "link-to-fifo": False,
                "dangling": False,
                "socket": False,
                "missing": False,
            }
            for name, expected in cases.items():
                kind, got = _call_bounded(
                    is_fifo,
                    (str(ws / name),),
                    5,
                    fifo=ws / "fifo",
                    why="does it open the path? Opening a FIFO waits for the other end; "
                    "look at it without opening it",
                )
                if kind == "raised":
                    extra = " (nothing at a path is not a FIFO: return False)" if name == "missing" else ""
                    problems.append(f"{name}: raised {type(got).__name__}: {short(got)}{extra}")
                    continue
                if kind != "ok":
                    problems.append(f"{name}: is_fifo() {kind} {got}")
                    break
                if got is not expected:
                    extra = (
                        " (a symbolic link is not a FIFO, even if it points to one)" if "link" in name else ""
                    )
                    problems.append(f"{name}: returned {got!r}, expected {expected!r}{extra}")
                else:
                    passed += 1
        finally:
            sock.close()
    return _report(problems, passed)


# ---------------------------------------------------------------- ensure_fifo


def check_ensure_fifo(ensure_fifo: Callable[[str, int], object]) -> bool:
    """Check ``ensure_fifo(path, mode)``: race-free, exact mode, refuses and keeps other files."""
    problems, passed = [], 0
    with Workspace() as ws:
        # 1. creates a FIFO with the exact mode, whatever the umask
        old = os.umask(0o077)
        try:
            kind, value = _call_bounded(ensure_fifo, (str(ws / "a"), 0o620), 5, fifo=ws / "a", why=_OPENS)
        finally:
            os.umask(old)
        if kind != "ok":
            problems.append(f"creating a new FIFO: {_outcome(kind, value)}")
        elif (ws / "a").is_fifo() and (os.lstat(ws / "a").st_mode & 0o777) == 0o620:
            passed += 1
        else:
            problems.append("the FIFO was not created with exactly mode 0o620 (the umask was 0o077)")
        # 2. an existing FIFO is fine
        if (ws / "a").is_fifo():
            kind, value = _call_bounded(ensure_fifo, (str(ws / "a"), 0o620), 5, fifo=ws / "a", why=_OPENS)
            if kind == "ok":
                passed += 1
            else:
                problems.append(f"calling it again on the same FIFO: {_outcome(kind, value)}")
        # 3. a rival creates the FIFO at the worst moment, and many threads at once
        # on one path all succeed.
        if _check_worst_moment(ensure_fifo, str(ws / "rival"), problems):
            if _check_simultaneous_calls(ensure_fifo, ws, problems):
                passed += 1
        # 4. a regular file and 5. a dangling symlink are refused; the file is left alone
        (ws / "file").write_bytes(b"keep")
        os.symlink("nowhere", ws / "dangling")
        for name, what in [("file", "a regular file in the way"), ("dangling", "a dangling symbolic link")]:
            kind, value = _call_bounded(ensure_fifo, (str(ws / name), 0o600), 5, why=_OPENS)
            if kind == "raised" and isinstance(value, FileExistsError):
                passed += 1
            elif kind == "ok":
                problems.append(f"{what} was accepted: it must raise FileExistsError")
            else:
                problems.append(f"{what}: {_outcome(kind, value)}, expected FileExistsError")
        if (ws / "file").read_bytes() != b"keep" or (ws / "file").is_fifo():
            problems.append("the regular file in the way was changed or replaced")
    return _report(problems, passed)


def _check_worst_moment(ensure_fifo: Callable[[str, int], object], path: str, problems: list[str]) -> bool:
    """A rival creates the FIFO between the learner's look and their ``os.mkfifo``: must still work.

    In a real race (chapter 03) that moment comes only now and then; here it
    comes every time.  A profile hook (:func:`sys.setprofile`) sees each call
    of a built-in function in the thread that runs ``ensure_fifo``; just
    before the first call of ``os.mkfifo``, it creates the FIFO itself, as a
    rival process could.  Returns True if ``ensure_fifo`` coped (or never
    calls ``os.mkfifo``); else appends the problem and returns False.
    """
    rival_came: list[bool] = []

    def rival(frame: object, event: str, arg: object) -> None:
        if event == "c_call" and arg is os.mkfifo and not rival_came:
            rival_came.append(True)
            try:
                os.mkfifo(path, 0o600)  # calls made inside the hook are not seen by the hook
            except OSError:
                pass  # something is there already: the learner's own doing

    def with_rival() -> object:
        sys.setprofile(rival)  # for this thread only
        try:
            return ensure_fifo(path, 0o600)
        finally:
            sys.setprofile(None)

    kind, value = _call_bounded(with_rival, (), 5, fifo=path, why=_OPENS)
    if kind == "ok" and path_kind(path) == "a FIFO":  # the rival's, or the learner's own
        return True
    if kind == "ok":
        problems.append("when another process created the FIFO at the same moment, no FIFO was left")
    else:
        problems.append(
            f"another process created the FIFO between your check and your os.mkfifo, and your function "
            f"{_outcome(kind, value)}. That is the race of chapter 03: call os.mkfifo first, and look "
            "at what is there only if it fails"
        )
    return False


def _check_simultaneous_calls(
    ensure_fifo: Callable[[str, int], object], ws: Workspace, problems: list[str]
) -> bool:
    """Let 8 threads call ``ensure_fifo`` on one path at the same moment, RACE_ROUNDS times: all must succeed.

    Returns True if they did; else appends the problem and returns False.
    Each round waits at most 10 s for its threads (an ``open()`` one of them is
    stuck in is completed, see :func:`_unblock`).
    """
    errors: list[BaseException] = []
    for round_ in range(RACE_ROUNDS):
        path = str(ws / f"race-{round_}")
        barrier = threading.Barrier(8)

        def racer(path: str = path, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait(5)
                ensure_fifo(path, 0o600)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=racer, daemon=True, name=CHECK_THREAD) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        if any(t.is_alive() for t in threads):
            _unblock(path)
            problems.append(f"8 simultaneous calls did not return within 10 s: {_OPENS}")
            return False
        if errors:
            problems.append(
                f"{len(errors)} of 8 simultaneous calls failed, e.g. {type(errors[0]).__name__}: "
                f"{short(errors[0])}: a race (another thread created the FIFO between your check "
                "and your mkfifo)"
            )
            return False
    return True


# ---------------------------------------------------------------- predictions


def check_nonblocking_predictions(reader_open_ok: bool, writer_errno: str, first_read: bytes) -> bool:
    """Check three predictions about O_NONBLOCK opens of a FIFO nobody else has open.

    ``reader_open_ok``: does ``os.open(fifo, O_RDONLY | O_NONBLOCK)`` succeed?
    ``writer_errno``: the errno name from ``os.open(fifo, O_WRONLY | O_NONBLOCK)`` with no reader.
    ``first_read``: what ``os.read(fd, 100)`` returns on that non-blocking reader.
    The answers are measured here, on this machine, not taken from a table.
    """
    with Workspace() as ws:
        fifo = ws.fifo()
        try:
            w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(w)
            actual_errno = "no error"
        except OSError as exc:
            actual_errno = errno.errorcode.get(exc.errno, str(exc.errno))
        r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            actual_read = os.read(r, 100)
        finally:
            os.close(r)
    return _compare_predictions(
        [
            ("the non-blocking reader opens", reader_open_ok, True),
            ("the non-blocking writer's errno", writer_errno, actual_errno),
            ("the first read returns", first_read, actual_read),
        ]
    )


def check_pipe_buf_prediction(largest_atomic_write: int, broken_records: int) -> bool:
    """Check two predictions about chapter 07: PIPE_BUF, and broken records for writes <= PIPE_BUF."""
    problems, passed = [], 0
    if largest_atomic_write == select.PIPE_BUF:
        passed += 1
    else:
        problems.append(
            f"largest atomic write: you said {largest_atomic_write}, select.PIPE_BUF is {select.PIPE_BUF}"
        )
    if broken_records == 0:
        passed += 1
    else:
        problems.append(
            f"broken records: you said {broken_records}; writes of at most PIPE_BUF never interleave"
        )
    return _report(problems, passed)


# ---------------------------------------------------------------- decode_chunks


def check_decode_chunks(decode_chunks: Callable[[list[bytes]], str]) -> bool:
    """Check ``decode_chunks(chunks) -> str`` with UTF-8 text split at every possible byte."""
    texts = ["Hello", "你好，命名管道", "grüß dich €", "😀 emoji"]
    problems, passed = [], 0
    for text in texts:
        data = text.encode("utf-8")
        for cut in range(1, len(data)):
            chunks = [data[:cut], data[cut:]]
            try:
                got = decode_chunks(chunks)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{chunks!r}: raised {type(exc).__name__}: {exc}")
                break
            if got != text:
                problems.append(f"{chunks!r}: returned {got!r}, expected {text!r}")
                break
            passed += 1
    byte_by_byte = [bytes([b]) for b in "你好".encode()]
    try:
        if decode_chunks(byte_by_byte) == "你好":
            passed += 1
        else:
            problems.append("one byte per chunk: wrong result")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"one byte per chunk: raised {type(exc).__name__}: {exc}")
    try:
        decode_chunks(["你".encode()[:2]])
        problems.append("text that ends in the middle of a character must raise UnicodeDecodeError")
    except UnicodeDecodeError:
        passed += 1
    except Exception as exc:  # noqa: BLE001
        problems.append(f"an unfinished character raised {type(exc).__name__}, expected UnicodeDecodeError")
    return _report(problems, passed)


# ---------------------------------------------------------------- read_lines


def check_read_lines(read_lines: Callable[[int], list[bytes]], timeout: float = 10) -> bool:
    """Check ``read_lines(fd) -> list[bytes]``: newline-framed messages from real writer processes.

    Each case has its own FIFO and writer process, which sends the messages
    in awkward pieces (a message split over writes, several messages in one
    write); all writers start at once.  The check opens each FIFO in turn
    and calls ``read_lines`` on the read end.  A writer sends each piece only
    once the reader has taken everything before it, so every piece arrives
    in a read of its own.  A last message without its ``b"\\n"`` must raise
    ``EOFError`` (or a subclass).
    """
    from .fifo import open_fifo

    cases = [
        ([b"one", b"two", b"three"], [2, 6, 6]),
        ([b"solo"], None),
        ([], None),
        ([b"x" * 70000, b"after a big one"], [30000, 40017]),
        (["你好".encode(), "命名管道".encode()], [1, 5, 14]),
    ]
    sends = [(b"".join(m + b"\n" for m in messages), parts) for messages, parts in cases]
    sends.append((b"complete\ncut sho", [9, 7]))  # the last message is cut short
    problems, passed = [], 0
    with Workspace() as ws, contextlib.ExitStack() as writers:
        fifos = [ws.fifo(f"case-{i}") for i in range(len(sends))]
        for fifo, (data, parts) in zip(fifos, sends, strict=True):
            writers.enter_context(launch_writer(fifo, data, parts=parts, wait_until_read=True))
        for fifo, (messages, _parts) in zip(fifos[:-1], cases, strict=True):
            outcome = _run_reader(read_lines, fifo, timeout, open_fifo)
            if outcome == ("ok", messages):
                passed += 1
                continue
            problems.append(f"sent {_preview(messages)}: {_outcome(*outcome)}")
            if outcome[0] not in ("ok", "raised"):
                return _report(problems, passed)  # a reader that hangs: stop here
        outcome = _run_reader(read_lines, fifos[-1], timeout, open_fifo)
        if outcome[0] == "raised" and isinstance(outcome[1], EOFError):
            passed += 1
        else:
            problems.append(f"a last message without b'\\n' must raise EOFError; it {_outcome(*outcome)}")
    return _report(problems, passed)


_OPENS = "does it open the path? Opening a FIFO waits until the other end is opened"


def _call_bounded(
    func: Callable,
    args: tuple,
    timeout: float,
    *,
    fifo: str | os.PathLike[str] | None = None,
    why: str = "does it stop at end of file (os.read returns b'')?",
    meanwhile: Callable[[], object] | None = None,
) -> tuple[str, object]:
    """Call the learner's ``func(*args)`` in a thread, so code that never returns cannot hang the cell.

    Returns ("ok", value), ("raised", exception) or ("did not return within", reason).
    Blocks for at most ``timeout`` s (plus 1 s, see below), after running
    ``meanwhile()``, if given, while ``func`` runs: a check uses it to start
    the processes of its later cases in the time a case must wait anyway.
    If ``func`` does not return and ``fifo`` is given, an ``open()`` of that
    FIFO the thread may be stuck in is completed (see :func:`_unblock`), so no
    thread is left blocked for ever.
    """
    result: dict = {}

    def target() -> None:
        try:
            result["ok"] = func(*args)
        except Exception as exc:  # noqa: BLE001 - reported to the learner
            result["raised"] = exc

    thread = threading.Thread(target=target, daemon=True, name=CHECK_THREAD)
    thread.start()
    if meanwhile is not None:
        meanwhile()
    thread.join(timeout)
    if thread.is_alive():
        if fifo is not None:
            _unblock(fifo)
            thread.join(1)
        return ("did not return within", f"{timeout:g} s: {why}")
    kind = "raised" if "raised" in result else "ok"
    return (kind, result[kind])


def _unblock(fifo: str | os.PathLike[str]) -> None:
    """Complete an ``open()`` of ``fifo`` that some thread is blocked in, whichever end it opens.

    A non-blocking open for reading always succeeds and releases a blocked
    writer; while we hold it, a non-blocking open for writing succeeds too and
    releases a blocked reader.  Both are closed at once.  Never blocks.
    """
    try:
        r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return  # gone, or not a FIFO: nothing to release
    try:
        w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(w)
    except OSError:
        pass
    finally:
        os.close(r)


def _outcome(kind: str, value: object) -> str:
    """One learner-readable phrase for a result of :func:`_call_bounded`."""
    if kind == "ok":
        return f"returned {_preview(value)}"
    if kind == "raised":
        return f"raised {type(value).__name__}: {short(value)}"
    return f"{kind} {value}"


def _run_reader(read_lines, fifo: Path, timeout: float, open_fifo):
    """Run the learner's reader on the read end of ``fifo``, whose writer process is already launched."""
    fd = open_fifo(fifo, "r", timeout=timeout)
    try:
        kind, value = _call_bounded(read_lines, (fd,), timeout)
    finally:
        _close_when_unused(fd)
    if kind == "ok" and not isinstance(value, list):
        return ("returned a non-list", value)
    return (kind, value)


def _close_when_unused(fd: int) -> None:
    """Close ``fd``, even if a learner's thread that never returned still reads from it.

    Simply closing would free the number, and the next ``os.open`` would reuse
    it: the stray thread would then steal bytes meant for the next case.  So
    the number keeps pointing at a pipe whose writer is gone (every read
    returns ``b""``) until every self-check thread has finished.
    """
    if not any(t.name == CHECK_THREAD and t.is_alive() for t in threading.enumerate()):
        os.close(fd)
        return
    dead_r, dead_w = os.pipe()
    os.close(dead_w)
    os.dup2(dead_r, fd, inheritable=False)
    os.close(dead_r)

    def close_later() -> None:
        for t in threading.enumerate():
            if t.name == CHECK_THREAD:
                t.join()
        os.close(fd)

    threading.Thread(target=close_later, daemon=True, name="self-check-closer").start()


def _preview(value) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


# ---------------------------------------------------------------- receive (the book's reader, fixed)


def check_receive(receive: Callable[[str, float], str], timeout: float = 10) -> bool:
    """Check ``receive(path, timeout) -> str``: the whole UTF-8 message from one writer, however long.

    First it calls ``receive(path, 0.1)`` (:data:`NO_WRITER_TIMEOUT`) on a
    FIFO that no writer ever opens: that must raise ``TimeoutError``
    (``FifoTimeoutError`` is one) within a few seconds, not return ``""`` and
    not wait for ever.  Meanwhile a writer process starts for each message,
    each with a FIFO of its own, and waits in ``open()`` until ``receive``
    opens that FIFO.
    """
    messages = [
        "Hello from pid [61017]",
        "Hello from pid [4194303]",
        "你好，命名管道 from pid [123456]",
        "long " * 40000,
    ]
    problems, passed = [], 0
    with Workspace() as ws, contextlib.ExitStack() as writers:
        fifos = [ws.fifo(f"message-{i}") for i in range(len(messages))]

        def start_writers() -> None:
            for fifo, message in zip(fifos, messages, strict=True):
                writers.enter_context(launch_writer(fifo, message))

        # No writer ever comes: the timeout must run out, however long it is.
        nobody = ws.fifo("no-writer")
        kind, value = _call_bounded(
            receive,
            (str(nobody), NO_WRITER_TIMEOUT),
            NO_WRITER_TIMEOUT + 3,
            fifo=nobody,
            why="with no writer it must give up after timeout seconds",
            meanwhile=start_writers,
        )
        if kind == "raised" and isinstance(value, TimeoutError):
            passed += 1
        elif kind == "ok":
            problems.append(
                f"with no writer, receive(path, {NO_WRITER_TIMEOUT:g}) returned {_preview(value)}: "
                "it must raise TimeoutError "
                "(an empty result is the b'' trap of chapter 04: no writer yet looks like end of file)"
            )
        else:
            got = _outcome(kind, value)
            problems.append(
                f"with no writer, receive(path, {NO_WRITER_TIMEOUT:g}) {got} (expected TimeoutError)"
            )
        for fifo, message in zip(fifos, messages, strict=True):
            kind, value = _call_bounded(receive, (str(fifo), timeout), timeout + 5, fifo=fifo)
            if kind == "ok" and value == message:
                passed += 1
            elif kind == "ok":
                problems.append(f"sent {_preview(message)}, received {_preview(value)}")
            else:
                problems.append(f"sent {_preview(message)}: receive() {_outcome(kind, value)}")
                if kind != "raised":
                    break  # a receive() that hangs: stop here
    return _report(problems, passed)


# ---------------------------------------------------------------- measured predictions


def check_sticky_hup_prediction(event_name: str, times_reported_in_3_polls: int) -> bool:
    """Check a prediction: after the only writer closed, what does poll() report, and how often in 3 calls?"""
    with Workspace() as ws:
        fifo = ws.fifo()
        r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(w)
            poller = select.poll()
            poller.register(r, select.POLLIN)
            results = [poller.poll(0) for _ in range(3)]
        finally:
            os.close(r)
    names = {select.POLLIN: "POLLIN", select.POLLHUP: "POLLHUP", select.POLLERR: "POLLERR"}
    first = results[0][0][1] if results[0] else 0
    actual_name = "+".join(name for bit, name in names.items() if first & bit) or "nothing"
    actual_count = sum(1 for r_ in results if r_)
    return _compare_predictions(
        [
            ("the event", event_name, actual_name),
            ("how many of 3 polls report it", times_reported_in_3_polls, actual_count),
        ]
    )


def check_eof_prediction(first_read: bytes, second_read: bytes) -> bool:
    """Check a prediction: a writer sends b"hello" and closes; what do two os.read(fd, 100) calls return?"""
    with Workspace() as ws:
        fifo = ws.fifo()
        r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            w = os.open(fifo, os.O_WRONLY)
            os.write(w, b"hello")
            os.close(w)
            actual = (os.read(r, 100), os.read(r, 100))
        finally:
            os.close(r)
    return _compare_predictions(
        [("first read", first_read, actual[0]), ("second read", second_read, actual[1])]
    )
