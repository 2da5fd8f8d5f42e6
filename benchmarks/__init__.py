"""Benchmarks of minidock against its real peers: podman, skopeo, umoci and CNCF distribution.

``python -m benchmarks [--quick] [--only NAME] [--runs N] [--json FILE]`` prints one markdown
table of medians and ratios. Each pair is measured side by side and alternating (ours, peer,
ours, peer, …) so that load from anything else on the machine falls on both alike; the ratio
is the median of the per-run ratios ours/peer (below 1: we are faster).

One module per subject, each with ``NAME`` and ``run(ctx) -> list[Row]``:
``container_start``, ``start_floor``, ``push_pull``, ``transport``, ``unpack``, ``build``, ``storage``, ``lessons``.
"""
