"""docker-style random container names: ``adjective_scientist``."""

from __future__ import annotations

import os
import random

# secrets' choice, without importing secrets (hmac and hashlib: ~4 ms of every container start).
_choice = random.SystemRandom().choice

ADJECTIVES = ("agile", "brave", "calm", "clever", "curious", "eager", "gentle", "happy", "jolly",
              "keen", "kind", "lucid", "merry", "nifty", "patient", "quick", "serene", "sharp",
              "steady", "tender", "upbeat", "vivid", "witty", "zealous")
NAMES = ("babbage", "curie", "dijkstra", "einstein", "feynman", "goodall", "hopper", "hypatia",
         "kepler", "knuth", "lamarr", "lovelace", "meitner", "noether", "pasteur", "ritchie",
         "shannon", "thompson", "torvalds", "turing", "wozniak", "yonath", "zuse", "qian", "tu")


def random_name(taken: set[str]) -> str:
    for _ in range(100):
        name = f"{_choice(ADJECTIVES)}_{_choice(NAMES)}"
        if name not in taken:
            return name
    return f"{_choice(ADJECTIVES)}_{_choice(NAMES)}_{os.urandom(3).hex()}"
