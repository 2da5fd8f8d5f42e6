"""The OCI value model: digests, references, descriptors, manifests, indexes and configs."""

from .config import History, ImageConfig, chain_ids, rfc3339
from .descriptor import Descriptor, Platform
from .digest import Digest
from .manifest import Index, Manifest, parse_any
from .reference import Reference

__all__ = ["Descriptor", "Digest", "History", "ImageConfig", "Index", "Manifest", "Platform",
           "Reference", "chain_ids", "parse_any", "rfc3339"]
