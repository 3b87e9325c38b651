#!/usr/bin/env python3
"""FAISS's IndexBinaryMultiHash on the index bench's own hashes and suspects, as an anchor.

`reelguard bench index --frames N --export DIR` writes DIR/catalogue.u64 (every frame hash of
the synthetic catalogue, little-endian u64; record i belongs to episode i // 600),
DIR/suspects.u64 (600 hashes per suspect), DIR/suspects.tsv (true episode index, family) and
DIR/ours.tsv (frames, our match median and p99 ms, brute-force ms, per decade). This script
builds FAISS's multi-hash index over the same catalogue prefixes (the catalogue grew in
order, so the first 1e6 records are the 1e6 catalogue) and times one suspect at a time on one
thread (CPU time of the thread, as the Rust bench reports): a k-nearest search for each of the suspect's frames, then each frame votes for the
episode of its nearest neighbour within the pair limit (22 bits), as the brute-force anchor
does. It prints FAISS's median and p99 ms per suspect, found, and ours as a ratio.

Not run by CI. To run it:

    python3 -m venv /tmp/faiss && /tmp/faiss/bin/pip install faiss-cpu numpy
    reelguard bench index --frames 1e7 --export /tmp/rg-export
    /tmp/faiss/bin/python benches/faiss_multihash.py /tmp/rg-export [--nhash 4 --bits 16 --nflip 0]

FAISS holds about 8 + 8 x nhash bytes per code plus its tables: mind memory above 1e7 frames
(`--max-frames`).
"""

import argparse
import collections
import os
import resource
import sys
import time

import faiss
import numpy as np

FRAMES_PER_EPISODE = 600
PAIR_DISTANCE = 22


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("export")
    parser.add_argument("--nhash", type=int, default=4)
    parser.add_argument("--bits", type=int, default=16)
    parser.add_argument("--nflip", type=int, default=0)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--max-frames", type=float, default=1.1e7)
    parser.add_argument("--suspects", type=int, default=200)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)

    codes = np.fromfile(os.path.join(args.export, "catalogue.u64"), dtype="<u8")
    suspects = np.fromfile(os.path.join(args.export, "suspects.u64"), dtype="<u8")
    suspects = suspects.reshape(-1, FRAMES_PER_EPISODE)
    truth = [int(line.split("\t")[0]) for line in open(os.path.join(args.export, "suspects.tsv"))]
    ours = {}
    for line in open(os.path.join(args.export, "ours.tsv")):
        frames, median, p99, brute = line.split("\t")
        ours[int(frames)] = (float(median), float(p99), float(brute))
    n_suspects = min(args.suspects, len(truth))

    print(
        f"FAISS {faiss.__version__} IndexBinaryMultiHash(64, nhash={args.nhash}, b={args.bits}), "
        f"nflip={args.nflip}, k={args.k}, one thread, {n_suspects} suspects of "
        f"{FRAMES_PER_EPISODE} frames"
    )
    print(f"{'frames':>8} {'build s':>8} {'median ms':>10} {'p99 ms':>8} {'found':>9} "
          f"{'RSS MB':>8} {'ours median':>12} {'FAISS/ours':>10}")
    for frames in sorted(ours):
        if frames > args.max_frames or frames > len(codes):
            print(f"{frames:>8.0e} skipped (over --max-frames or beyond the export)")
            continue
        index = faiss.IndexBinaryMultiHash(64, args.nhash, args.bits)
        index.nflip = args.nflip
        started = time.thread_time()
        index.add(codes[:frames].view(np.uint8).reshape(-1, 8))
        build_s = time.thread_time() - started
        times, found = [], 0
        for s in range(n_suspects):
            query = suspects[s].view(np.uint8).reshape(-1, 8)
            started = time.thread_time()
            distances, labels = index.search(query, args.k)
            votes = collections.Counter(
                int(label) // FRAMES_PER_EPISODE
                for d, label in zip(distances[:, 0], labels[:, 0])
                if label >= 0 and d <= PAIR_DISTANCE
            )
            times.append((time.thread_time() - started) * 1e3)
            best = votes.most_common(1)
            found += int(bool(best) and best[0][0] == truth[s])
        times.sort()
        median = times[len(times) // 2]
        p99 = times[round((len(times) - 1) * 0.99)]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        our_median = ours[frames][0]
        print(f"{frames:>8.0e} {build_s:>8.1f} {median:>10.2f} {p99:>8.2f} "
              f"{found:>4}/{n_suspects:<4} {rss:>8.0f} {our_median:>12.2f} "
              f"{median / our_median:>9.2f}x")
        del index
        sys.stdout.flush()


if __name__ == "__main__":
    main()
