"""Snapshotters: committed image layers keyed by ChainID, and writable container layers."""
