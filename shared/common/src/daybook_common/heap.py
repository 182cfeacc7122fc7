"""Garbage-collector settings for a served worker (the gateway and every service).

Per request a worker allocates a few hundred short-lived objects (aiohttp's request,
response, timers, header dicts, rows …), nearly all freed by reference counting.  With CPython's
default thresholds (700, 10, 10) the in-flight requests alone keep tripping generation-0
collections, and every so often a full collection walks the whole heap — ~100,000 objects of
Litestar, aiohttp, joserfc … that live as long as the process — which cost ~150-250 ms of CPU
each on the benchmark machine (a latency spike for every request in flight, and ~30 µs a request
on average).  So, once the worker has started:

* ``gc.freeze()`` moves everything alive at that point into the permanent generation, which
  collections never scan (after a collection, so no garbage is pinned);
* the generation-0 threshold is raised so collections run only when cyclic garbage really
  accumulates, not because ~32 requests are in flight.

Cycles are still collected; only how often the collector looks changes.  Applied by each
package's ``create_served_app`` (what ``daybook-<name> serve`` runs), never by in-process test apps.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    gc.collect()  # whatever startup left unreachable goes now, not into the permanent generation
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(GEN0_THRESHOLD, gen0), gen1, gen2)
