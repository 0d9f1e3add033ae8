#!/usr/bin/env python3
"""Times commands in turn, round after round, and prints each one's best and median wall time and
its ratio to the first command's.

On a shared machine whose speed drifts over minutes, hyperfine's one-command-after-another runs
compare commands measured at different speeds; taking them in turn exposes each to the same
drift. Output of each command goes to /dev/null.

    benches/alternate.py [--runs N] [--warmup N] NAME=COMMAND [NAME=COMMAND ...]
"""
import argparse
import shlex
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = ap.parse_args()
    named = [c.split("=", 1) for c in args.commands]
    times = {name: [] for name, _ in named}
    for round_ in range(args.warmup + args.runs):
        for name, command in named:
            start = time.perf_counter()
            subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL, check=True)
            if round_ >= args.warmup:
                times[name].append(time.perf_counter() - start)
    first = named[0][0]
    best0, median0 = min(times[first]), statistics.median(times[first])
    print(f"{'command':<16} {'best':>9} {'median':>9} {'best/first':>11} {'median/first':>13}")
    for name, _ in named:
        best, median = min(times[name]), statistics.median(times[name])
        print(f"{name:<16} {best * 1000:7.0f}ms {median * 1000:7.0f}ms {best / best0:11.2f} {median / median0:13.2f}")


if __name__ == "__main__":
    main()
