"""Work a process will need soon, begun in the background while its first calls are on the wire; and, in the
``zohocrm`` command's own process, work it will not need at all left undone (:func:`command_process`)."""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_lock = threading.Lock()
_started = False
_command = False


def _convert_once() -> None:
    try:
        import pyarrow as pa

        pa.array([""], pa.string())
    except Exception:  # noqa: BLE001  (a warm-up: the first real conversion reports any problem)
        pass


class _PandasNotYet(importlib.abc.MetaPathFinder):
    """Says pandas is not there, for as long as it sits first on ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> ModuleSpec | None:
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is imported when a DataFrame is asked for", name=fullname)
        return None


def _first_conversion_without_pandas() -> None:
    """pyarrow's first conversion of Python values asks once whether pandas can be imported (to recognise its
    objects among the values) and imports it if so: 0.2-0.3 s of CPU. Made while pandas cannot be found,
    that first look finds none, and pyarrow does not look again until pandas is asked for by name (a
    DataFrame: ``to_pandas`` imports it then and works as ever)."""
    import pyarrow as pa

    blocker = _PandasNotYet()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([None])
    except Exception:  # noqa: BLE001  (as _convert_once: the first real conversion reports any problem)
        pass
    finally:
        sys.meta_path.remove(blocker)


def command_process() -> None:
    """Called by the ``zohocrm`` command as it starts, in its own process: no code but the connector's hands
    values to pyarrow there, and none of them is a pandas object, so its first conversion need not import
    pandas (:func:`arrow_in_background` then makes that first conversion, at once, without it). A library
    process keeps pyarrow as it is: its caller may hand pyarrow pandas objects at any time, and pyarrow's
    C++ side keeps what it needs to recognise them (``pd.NA``, ``NaT``, ``DateOffset``) from its first type
    inference, once per process: made without pandas, ``pa.array([1, pd.NA], from_pandas=True)`` would fail
    there for good, even after the program imports pandas itself (pyarrow's Python side can be told when pandas
    arrives later; its C++ side cannot)."""
    global _command
    _command = True


def arrow_in_background() -> None:
    """pyarrow imports pandas the first time it converts Python values (a fifth of a second or more, holding
    the import lock every other thread then waits on). A session or a run calls this as it starts, so that
    the import happens while its first calls wait for Zoho rather than when the first answers arrive (for a
    query: in the middle of its planning). Once per process; a thread of its own, which nothing waits for but
    the interpreter's exit: not a daemon, so a process that ends before the import does (a quick query, a run
    stopped at once) lets it finish first; C extensions torn down mid-import can abort the process at exit.
    In the command's own process (:func:`command_process`) pandas is not imported at all: the first
    conversion is made here, without it."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
        if _command and "pandas" not in sys.modules:
            _first_conversion_without_pandas()
            return
    threading.Thread(target=_convert_once, name="zoho-warm-arrow").start()
