"""Content-addressed storage: blobs written once, atomically, verified while streaming in."""

from .store import BlobInfo, BlobWriter, ContentStore

__all__ = ["BlobInfo", "BlobWriter", "ContentStore"]
