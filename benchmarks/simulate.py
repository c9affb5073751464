"""Benchmark the Monte Carlo engine at PERF-NOTES scale and print figures (no assertions).

4,000 draws x 50,000 open deals + new pipeline from ~15,000 sellers at 300 partners, horizon 1
and 4. Prints wall time (split into open and new pipeline), peak memory, draws x deals per
second, and numpy's raw float32 uniform rate on this machine (the physical limit the
per-deal-per-draw work is compared with).

Usage: ``python benchmarks/simulate.py [--draws 4000] [--deals 50000] [--sellers 15051]
[--partners 300] [--horizons 1 4] [--threads N] [--split]``
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numba
import numpy as np

from partner_forecast.simulate import simulate
from partner_forecast.testing.posteriors import random_inputs


def numpy_uniform_rate(n: int = 8192, repeats: int = 5000) -> float:
    """Single-thread numpy float32 uniforms per CPU second (an in-cache buffer, refilled)."""
    rng = np.random.default_rng(0)
    out = np.empty(n, dtype=np.float32)
    rng.random(out=out, dtype=np.float32)
    t = time.process_time()
    for _ in range(repeats):
        rng.random(out=out, dtype=np.float32)
    return n * repeats / (time.process_time() - t)


def timed(label: str, inputs, n_pairs: int, **kwargs) -> float:
    """Run ``simulate`` once; print wall and CPU time, traced peak and the pair rate.

    The machine may be shared: CPU seconds / threads is what the run would take on idle
    cores, and is the figure to compare with the target.
    """
    tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    result = simulate(inputs, seed=20261123, **kwargs)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = result.total().attributed.sum(axis=(1, 2))
    threads = numba.get_num_threads()
    print(f"  {label:<22} wall {wall:6.2f} s  cpu {cpu:6.2f} s (= {cpu / threads:5.2f} s on "
          f"{threads} idle cores)  numpy peak {peak / 2**20:5.0f} MiB  "
          f"{n_pairs / cpu / 1e6:5.1f} M draw-deals per cpu-s  mean total ARR {total.mean():,.0f}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--sellers", type=int, default=15_051)
    parser.add_argument("--partners", type=int, default=300)
    parser.add_argument("--horizons", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--split", action="store_true", help="also time open and new pipeline alone")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)

    print(f"threads {numba.get_num_threads()}, numpy {np.__version__}, numba {numba.__version__}")
    rate = numpy_uniform_rate()
    print(f"numpy raw uniform float32 (1 thread, in cache): {rate / 1e6:.0f} M per cpu-s -> "
          f"{args.draws * args.deals / rate:.2f} cpu-s for one uniform per draw x open deal")
    simulate(random_inputs(0, n_draws=4, n_partners=3, n_open=5, horizon=1), seed=0)  # load kernels
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    for horizon in args.horizons:
        inputs = random_inputs(1, n_draws=args.draws, n_partners=args.partners, n_open=args.deals,
                               horizon=horizon, sellers=args.sellers, mid_quarter=False)
        pairs = args.draws * args.deals
        print(f"horizon {horizon}: {args.draws} draws x {args.deals} open deals, "
              f"{int(inputs.pool[:, 0].sum())} sellers at {args.partners} partners")
        timed("open + new pipeline", inputs, pairs, chunk_draws=args.chunk)
        if args.split:
            timed("open pipeline only", inputs.replace(pool=np.zeros_like(inputs.pool)), pairs,
                  chunk_draws=args.chunk)
            timed("new pipeline only", inputs.replace(open_deals=inputs.open_deals.iloc[:0]),
                  pairs, chunk_draws=args.chunk)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  peak RSS of the process so far {rss / 2**10:.0f} MiB "
              f"(after warm-up {rss0 / 2**10:.0f} MiB; includes the inputs)")


if __name__ == "__main__":
    main()
