"""Containers: records, lifecycle, the per-container shim, and the commands over them."""
