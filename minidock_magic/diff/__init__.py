"""Layer tars: what a container changed, written as a layer, and layers applied to a rootfs.

- :mod:`.whiteout` — the image-spec names for deletions and opaque directories (pure);
- :mod:`.changes` — A/C/D changes between two trees, or from an overlayfs upper dir;
- :mod:`.writer` — deterministic layer tars with their digest and diff_id in one pass;
- :mod:`.apply` — safe, streaming extraction of a layer onto a rootfs, with
  :mod:`.safepath` (chroot-style resolution), :mod:`.members` (member rules) and
  :mod:`.layerstream` (decompression, hashing, limits) underneath.
"""
