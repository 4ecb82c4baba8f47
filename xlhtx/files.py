"""Writing files so that a reader never sees half of one and nothing is lost.

``atomic_write`` writes a temporary file beside the target and renames it over the
target. It keeps what the user set on the target: its permission bits (a 0600 file
stays 0600) and a symbolic link (the file the link points to is replaced, the link
stays). It refuses to replace a read-only file, anything that is not a regular file (a
device such as ``/dev/null``, a pipe, a socket) and any file this process read as an
input (``read_from`` records them; a command that means to rewrite its input says so
with ``replace_input``). The temporary file is removed on any failure and on SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from xlhtx.errors import XlhtxError


class FileWriteError(XlhtxError):
    """The output cannot be written where asked."""


class JsonError(XlhtxError):
    """A JSON input that cannot be read; the message says why."""


def parse_json(data: str | bytes, where: str) -> Any:
    """JSON text as Python objects, or a ``JsonError`` naming ``where``: not JSON, nested
    beyond what a parser should follow (HTX's answers nest a few levels), or integers
    longer than Python reads."""
    import json
    try:
        return json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
    except RecursionError:
        raise JsonError(f"{where}: refused: JSON nested too deeply to be an HTX "
                        "response") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JsonError(f"{where}: not JSON ({e})") from None
    except ValueError as e:   # an integer of thousands of digits
        raise JsonError(f"{where}: refused: {e}") from None


_INPUTS: set[str] = set()   # the files this process has read (real paths)


def read_from(path: str | Path) -> None:
    """Record ``path`` as an input: no output of this process may replace it."""
    with contextlib.suppress(OSError, ValueError):
        _INPUTS.add(os.path.realpath(path))


def check_output(path: str | Path, replace_input: bool = False) -> Path:
    """The file a write to ``path`` would replace, or a ``FileWriteError`` saying why it
    must not be written: a folder, a device, pipe or socket, or one of the inputs."""
    target = _real_target(Path(path))
    try:
        st_ = target.stat()
    except (FileNotFoundError, NotADirectoryError):
        return target
    except OSError as e:
        raise FileWriteError(f"{path}: cannot write it: {e.strerror or e}") from None
    if not stat.S_ISREG(st_.st_mode):
        raise FileWriteError(f"{path}: is not a regular file (a device, pipe or socket); "
                             "give a file name")
    if not replace_input and os.path.realpath(target) in _INPUTS:
        raise FileWriteError(f"{path}: is an input of this command; the output would "
                             "replace it: choose another -o")
    return target


def atomic_write(path: str | Path, write: Callable[[str], None], *,
                 replace_input: bool = False) -> Path:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it over the
    file ``path`` names (through a symlink). Returns the file written."""
    target = check_output(path, replace_input)
    mode = _mode_for(target)
    _make_parent(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as e:
        raise FileWriteError(f"{path}: cannot write in {target.parent}: "
                             f"{e.strerror or e}") from None
    os.close(fd)
    with _removed_on_sigterm(tmp):
        try:
            write(tmp)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return target


def _real_target(path: Path) -> Path:
    """The file a write to ``path`` should replace: a symlink's target, never a folder."""
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if real.is_dir():
        raise FileWriteError(f"{path}: is a folder; give a file name")
    return real


def _mode_for(target: Path) -> int:
    """The permission bits the new file gets: the old file's, else 0666 less umask."""
    try:
        st = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    except NotADirectoryError:
        raise FileWriteError(f"{target}: a folder on the way is a file") from None
    # the write bits, not os.access: root may write anything, but a file its owner made
    # read-only is one the user asked to keep
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise FileWriteError(f"{target}: is write-protected; remove the protection or "
                             "choose another output")
    return stat.S_IMODE(st.st_mode)


def _make_parent(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise FileWriteError(f"{folder}: is a file, not a folder") from None
    except OSError as e:
        raise FileWriteError(f"{folder}: cannot make the folder: {e.strerror or e}") from None


@contextlib.contextmanager
def _removed_on_sigterm(tmp: str) -> Iterator[None]:
    """While writing, SIGTERM removes the temporary file before the process ends."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:       # not the main thread: signals cannot be set here
        yield
        return

    def handler(signum, frame):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        signal.signal(signal.SIGTERM, previous if callable(previous) else signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
