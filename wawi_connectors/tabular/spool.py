"""Validated chunks kept in an anonymous temporary file, so the file is read only once.

Each chunk is stored factorized (row numbers, and per field the codes and distinct raw
values) -- on disk about the size of the file or less (118 MB for a 182 MB export of a
million lines). The streams replay it chunk by chunk, so memory stays flat. The
temporary file has no name on disk and disappears when the spool is closed or
garbage-collected.
"""

from __future__ import annotations

import pickle
import tempfile
import weakref
from collections.abc import Iterator

import numpy as np

from .values import Cells


class Spool:
    def __init__(self) -> None:
        # Lives as long as the spool; closed by close() or when the spool is collected.
        self._file = tempfile.TemporaryFile(prefix="csv-import-")  # noqa: SIM115
        self._offsets: list[int] = []
        self._close = weakref.finalize(self, self._file.close)

    def append(self, rows: np.ndarray, cells: dict[str, Cells]) -> None:
        self._file.seek(0, 2)
        self._offsets.append(self._file.tell())
        chunk = (rows, {field: (c.codes, c.uniques) for field, c in cells.items()})
        pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, Cells]]]:
        """The chunks in file order; two iterations may run side by side."""
        for offset in self._offsets:
            self._file.seek(offset)
            # Safe: this process wrote the (unnamed, private) file a moment ago.
            rows, columns = pickle.load(self._file)  # noqa: S301
            yield rows, {field: Cells(*pair) for field, pair in columns.items()}

    def close(self) -> None:
        self._close()
