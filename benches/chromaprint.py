#!/usr/bin/env python3
"""Chromaprint (`fpcalc`) on the fixtures with sound: which audio edits the anchor survives.

The decision that shaped it: Chromaprint is scored the way reelguard's audio signal is, on the
same files and the same tune/check split. Each suspect's raw fingerprint (32-bit items, ~8 a
second) is compared with every original's at every offset that overlaps by at least
`MIN_OVERLAP` items; the distance of a pair is the lowest bit error rate over those offsets. The
threshold is not chosen by hand: it sits `MARGIN` below the lowest chance distance among the
tune dramas' pairs (every suspect against every original that is not its own, and the unrelated
files against all), so a check-drama pair under it is a finding, right or wrong.

Usage: benches/chromaprint.py [FIXTURES/sound] [--json]
Needs Debian's `libchromaprint-tools` (`fpcalc`). Standard library only.
"""

import csv
import json
import os
import statistics
import subprocess
import sys

MIN_OVERLAP = 50  # items, ~6 s of sound
MARGIN = 0.05  # bit error rate below the lowest tune chance distance
TUNE = {"radio"}  # as `reelguard eval`'s split: radio tunes, voice checks


def fingerprint(path):
    out = subprocess.run(
        ["fpcalc", "-raw", "-json", "-length", "0", path],
        capture_output=True,
        text=True,
        check=False,
    )
    # fpcalc reports the decoder's end of file on stderr and a non-zero status while still
    # printing a complete fingerprint, so the JSON is what decides.
    try:
        return json.loads(out.stdout)["fingerprint"]
    except (json.JSONDecodeError, KeyError):
        return []


def ber(a, b):
    """Lowest bit error rate of `a` against `b` over offsets with enough overlap."""
    best = 1.0
    for shift in range(-(len(a) - MIN_OVERLAP), len(b) - MIN_OVERLAP + 1):
        lo = max(0, -shift)
        hi = min(len(a), len(b) - shift)
        if hi - lo < MIN_OVERLAP:
            continue
        bits = sum(bin(a[i] ^ b[i + shift]).count("1") for i in range(lo, hi))
        best = min(best, bits / (32 * (hi - lo)))
    return best


def drama(name):
    return name.split("_")[0]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    root = args[0] if args else os.path.join(
        os.environ.get("REELGUARD_FIXTURES", "/var/cache/reelguard-fixtures"), "sound"
    )
    with open(os.path.join(root, "originals", "MANIFEST.tsv")) as f:
        originals = {r["name"]: fingerprint(os.path.join(root, "originals", r["name"] + ".mp4"))
                     for r in csv.DictReader(f, delimiter="\t")}
    suspects = []
    with open(os.path.join(root, "variants", "MANIFEST.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            suspects.append((r["original"], r["variant"], r["expect"],
                             fingerprint(os.path.join(root, r["file"]))))
    with open(os.path.join(root, "unrelated", "MANIFEST.tsv")) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            suspects.append((None, "unrelated:" + drama(r["name"]), "none",
                             fingerprint(os.path.join(root, "unrelated", r["name"] + ".mp4"))))

    rows = []
    for own, variant, expect, fp in suspects:
        dists = {name: ber(fp, ofp) for name, ofp in originals.items()}
        rows.append({"original": own, "variant": variant, "expect": expect, "dists": dists})

    def is_tune(row):
        name = row["original"] or row["variant"].split(":")[1]
        return drama(name) in TUNE

    chance = [d for r in rows if is_tune(r) for n, d in r["dists"].items() if n != r["original"]]
    threshold = min(chance) - MARGIN

    families = {}
    for r in rows:
        fam = r["variant"].split(":")[0]
        part = "tune" if is_tune(r) else "check"
        best = min(r["dists"], key=r["dists"].get)
        hit = r["dists"][best] <= threshold
        cell = families.setdefault(fam, {"expect": r["expect"], "tune": [0, 0, 0], "check": [0, 0, 0],
                                         "own_ber": []})
        counts = cell[part]
        counts[1] += 1
        if r["original"] is not None:
            cell["own_ber"].append(r["dists"][r["original"]])
        # A finding of the right episode counts as found unless its sound was replaced (the
        # re-dub: a notice built on that match would cite sound that is not the studio's).
        if hit and best == r["original"] and r["expect"] != "video":
            counts[0] += 1
        elif hit:
            counts[2] += 1

    report = {
        "threshold_ber": round(threshold, 4),
        "tune_chance": {"min": round(min(chance), 4), "median": round(statistics.median(chance), 4),
                        "pairs": len(chance)},
        "families": {
            fam: {"expect": c["expect"], "tune_found": c["tune"][0], "tune_cases": c["tune"][1],
                  "check_found": c["check"][0], "check_cases": c["check"][1],
                  "wrong": c["tune"][2] + c["check"][2],
                  "median_own_ber": round(statistics.median(c["own_ber"]), 4) if c["own_ber"] else None}
            for fam, c in sorted(families.items())
        },
    }
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
        return
    print(f"threshold BER {report['threshold_ber']} (tune chance: min {report['tune_chance']['min']},"
          f" median {report['tune_chance']['median']}, {len(chance)} pairs)")
    print(f"{'edit':<12} {'tune':>6} {'check':>6} {'wrong':>6} {'own BER':>8}")
    for fam, c in report["families"].items():
        own = "-" if c["median_own_ber"] is None else f"{c['median_own_ber']:.3f}"
        print(f"{fam:<12} {c['tune_found']}/{c['tune_cases']:<4} {c['check_found']}/{c['check_cases']:<4}"
              f" {c['wrong']:>6} {own:>8}")


if __name__ == "__main__":
    main()
