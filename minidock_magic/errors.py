"""One error tree for the whole engine, shared by the CLI, the magics, the registry server and client.

Every error is a ``MinidockError`` and also the matching built-in, so callers that only know
Python's own exceptions still catch it::

    MinidockError (Exception)
    ├── NotFound (LookupError)               404  NAME_UNKNOWN / MANIFEST_UNKNOWN / BLOB_UNKNOWN
    ├── AlreadyExists (FileExistsError)      409
    ├── InvalidArgument (ValueError)         400  NAME_INVALID / TAG_INVALID / MANIFEST_INVALID
    │   ├── DigestMismatch                   400  DIGEST_INVALID
    │   └── UnsafeLayer                      400  a tar entry that would leave its rootfs
    ├── TooLarge (ValueError)                413  SIZE_INVALID
    ├── Conflict (RuntimeError)              409  DENIED / image in use / container running
    ├── Unauthorized (PermissionError)       401  UNAUTHORIZED
    ├── Denied (PermissionError)             403  DENIED
    ├── Unsupported (NotImplementedError)    415/405  UNSUPPORTED
    └── Unavailable (ConnectionError)        503  the host or a peer cannot do it right now

The CLI prints ``str(error)`` as one line; nothing should ever need a traceback to be understood.
"""

from __future__ import annotations

from collections.abc import Mapping


class MinidockError(Exception):
    """Base of every error the engine raises on purpose.

    >>> error = MinidockError("upload out of order", headers={"Range": "0-99"})
    >>> error.headers["Location"] = "/v2/me/app/blobs/uploads/1"  # added where the upload is known
    >>> str(error), sorted(error.headers)
    ('upload out of order', ['Location', 'Range'])
    """

    #: HTTP status the registry server answers with, and the client maps back from.
    http_status: int = 500
    #: OCI distribution-spec error code (``errors[].code``).
    registry_code: str = "UNKNOWN"
    #: Response headers the registry server sends with this error (``WWW-Authenticate``, an
    #: upload's ``Location`` and ``Range``); whoever knows them adds them, possibly on the way up.
    headers: dict[str, str]
    #: The spec's optional ``errors[].detail``.
    detail: object = None

    def __init__(self, message: str = "", *, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.registry_code = code
        self.headers = dict(headers or {})

    def __str__(self) -> str:  # OSError subclasses would otherwise print "[Errno …]" forms
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(MinidockError, LookupError):
    http_status = 404
    registry_code = "NAME_UNKNOWN"


class AlreadyExists(MinidockError, FileExistsError):
    http_status = 409
    registry_code = "DENIED"


class InvalidArgument(MinidockError, ValueError):
    http_status = 400
    registry_code = "NAME_INVALID"


class DigestMismatch(InvalidArgument):
    registry_code = "DIGEST_INVALID"


class UnsafeLayer(InvalidArgument):
    """A layer tar asked for something that would escape or harm the rootfs."""

    registry_code = "BLOB_UPLOAD_INVALID"


class TooLarge(MinidockError, ValueError):
    http_status = 413
    registry_code = "SIZE_INVALID"


class Conflict(MinidockError, RuntimeError):
    http_status = 409
    registry_code = "DENIED"


class Unauthorized(MinidockError, PermissionError):
    http_status = 401
    registry_code = "UNAUTHORIZED"


class Denied(MinidockError, PermissionError):
    http_status = 403
    registry_code = "DENIED"


class Unsupported(MinidockError, NotImplementedError):
    http_status = 415
    registry_code = "UNSUPPORTED"


class Unavailable(MinidockError, ConnectionError):
    http_status = 503
    registry_code = "UNAVAILABLE"


#: The one status ↔ error table: the server answers ``error.http_status``; the client turns a
#: status back into the error class here (most specific first).
ERROR_BY_STATUS: dict[int, type[MinidockError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: Denied,
    404: NotFound,
    405: Unsupported,
    409: Conflict,
    413: TooLarge,
    415: Unsupported,
    416: InvalidArgument,
    429: Unavailable,
    503: Unavailable,
}


def error_for_status(status: int, message: str) -> MinidockError:
    """The error a client raises for an HTTP ``status`` it did not expect."""
    return ERROR_BY_STATUS.get(status, MinidockError)(message)
