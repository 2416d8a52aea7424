"""Services behind Admin → Connectors: settings and secrets, sync jobs, file uploads.

Routes call these functions with plain values; they raise ``SourceError`` (or a
subclass) with a message for the user, and commit where the docstring says so.
"""

from __future__ import annotations


class SourceError(Exception):
    """A request about a connector cannot be carried out; the message says why."""
