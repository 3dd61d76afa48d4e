"""Print things in notebooks so that the output is the same on every run.

Temporary directories get random names (``/tmp/ipc-tutorial-k2j8x1``); these
helpers print them as ``<tmp>`` so a learner sees the part that matters and the
stored notebook output stays comparable.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

_TEMP_DIR = re.compile(r"(?:/[^\s'\"/]+)*/ipc-tutorial-[A-Za-z0-9_]+")


def short(text: object) -> str:
    """``str(text)`` with every tutorial temporary directory written as ``<tmp>``."""
    return _TEMP_DIR.sub("<tmp>", os.fspath(text) if isinstance(text, os.PathLike) else str(text))


class _Caught:
    exception: BaseException | None = None


@contextlib.contextmanager
def expect_error(*types: type[BaseException]) -> Iterator[_Caught]:
    """Run a block that should raise; print ``ErrorType: message`` instead of a traceback.

    Only the given exception types (default: any ``Exception``) are caught;
    the caught exception is available as ``.exception`` on the yielded object.
    If the block raises nothing, that is printed too, so a surprise is visible::

        with expect_error(FileExistsError):
            os.mkfifo(path)
    """
    caught = _Caught()
    try:
        yield caught
    except types or Exception as exc:  # noqa: B030 - a tuple of types, built at run time
        caught.exception = exc
        print(f"{type(exc).__name__}: {short(exc)}")
    else:
        print("(no exception was raised)")
