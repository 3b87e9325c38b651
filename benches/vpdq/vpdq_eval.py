#!/usr/bin/env python3
"""Evaluate Meta's vPDQ (ThreatExchange) on reelguard's fixture set.

Hashes every original ("registered" reference) and every suspect (each variant,
each unrelated clip, each compilation) with vPDQ, then decides for every
(suspect, original) pair whether they match, using vPDQ's brute-force
comparison:

  * frames of each video are de-duplicated by exact PDQ hash, then frames with
    PDQ quality < 50 are dropped (ThreatExchange VPDQ_QUALITY_THRESHOLD);
  * a frame counts as matched if some frame of the other video is within PDQ
    Hamming distance <= 31 (VPDQ_DISTANCE_THRESHOLD);
  * query% = share of the suspect's frames matched in the original,
    ref%   = share of the original's frames matched in the suspect.

This is exactly threatexchange.extensions.vpdq.vpdq_brute_matcher.
match_VPDQ_hash_brute (threatexchange 1.2.17), vectorised with numpy because the
library version compares 256-character bit strings in pure Python (~20 us per
frame pair).  `--verify-threatexchange N` re-checks N pairs with the library
function itself and aborts on any difference.

Three decision rules are reported (threshold 80 %):
  both   query% >= 80 and ref% >= 80   (the "both ways" reference rule)
  query  query% >= 80 only             (ThreatExchange's code default: query 80 %, index 0 %)
  ref    ref%   >= 80 only             (the vPDQ README's example: P_c = 80 %, P_q = 0 %)

vPDQ has no notion of time alignment, so no segment/boundary error is measured.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

DISTANCE_THRESHOLD = 31  # VPDQ_DISTANCE_THRESHOLD (inclusive: dist <= 31 matches)
QUALITY_THRESHOLD = 50  # VPDQ_QUALITY_THRESHOLD (frames with quality < 50 ignored)
PERCENT_THRESHOLD = 80.0  # VPDQ_QUERY_MATCH_THRESHOLD_PERCENT

FAMILY_ORDER = [
    "mirror", "crop15", "speed110", "speed125", "speed150", "reframe", "borders",
    "colorborders", "subs_logo", "color", "lowres", "fps24", "excerpt", "pip",
    "compilation",
]
RULES = OrderedDict(
    both="both ways: query% >= {t} and ref% >= {t} (reference rule)",
    query="one way, query side: query% >= {t} (ThreatExchange's code default)",
    ref="one way, reference side: ref% >= {t} (the vPDQ README's P_c example)",
)


def vpdq_version() -> str:
    try:
        return metadata.version("vpdq")
    except metadata.PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------- fixtures


@dataclass
class Suspect:
    path: Path
    family: str
    truth: set = field(default_factory=set)  # names of originals it contains


def read_tsv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in rows]


def resolve(root: Path, manifest_dir: Path, file_value: str, fallbacks: list[Path]) -> Path | None:
    cands = []
    if file_value:
        p = Path(file_value)
        cands += [p] if p.is_absolute() else [root / p, manifest_dir / p]
    cands += fallbacks
    for c in cands:
        if c.is_file():
            return c.resolve()
    return None


def load_fixtures(root: Path):
    warnings = []
    # originals
    odir = root / "originals"
    originals: "OrderedDict[str, Path]" = OrderedDict()
    if (odir / "MANIFEST.tsv").is_file():
        for r in read_tsv(odir / "MANIFEST.tsv"):
            name = r.get("name") or r.get("original") or next(iter(r.values()), "")
            if not name:
                continue
            p = resolve(root, odir, r.get("file", ""), [odir / f"{name}.mp4", odir / name])
            if p is None:
                warnings.append(f"original {name}: file not found, skipped")
                continue
            originals[name] = p
    else:
        warnings.append("originals/MANIFEST.tsv missing: using originals/*.mp4")
        for p in sorted(odir.glob("*.mp4")):
            if not p.name.startswith("."):
                originals[p.stem] = p.resolve()

    suspects: "OrderedDict[Path, Suspect]" = OrderedDict()

    def add_rows(manifest: Path, default_dir: Path, family_override: str | None):
        for r in read_tsv(manifest):
            orig = r.get("original", "")
            fam = family_override or r.get("variant", "") or "unknown"
            fb = []
            if r.get("variant"):
                fb.append(default_dir / orig / f"{r['variant']}.mp4")
            p = resolve(root, manifest.parent, r.get("file", ""), fb)
            if p is None:
                warnings.append(f"{manifest.parent.name}: {r.get('file') or orig + '/' + fam}: file not found, skipped")
                continue
            if orig not in originals:
                warnings.append(f"{p.name}: original '{orig}' not among originals")
            s = suspects.setdefault(p, Suspect(p, fam))
            if s.family != fam:
                warnings.append(f"{p}: rows disagree on family ({s.family} vs {fam})")
            if orig:
                s.truth.add(orig)

    if (root / "variants" / "MANIFEST.tsv").is_file():
        add_rows(root / "variants" / "MANIFEST.tsv", root / "variants", None)
    else:
        warnings.append("variants/MANIFEST.tsv missing")
    if (root / "compilations" / "MANIFEST.tsv").is_file():
        add_rows(root / "compilations" / "MANIFEST.tsv", root / "compilations", "compilation")
    else:
        warnings.append("compilations/MANIFEST.tsv missing")
    udir = root / "unrelated"
    if (udir / "MANIFEST.tsv").is_file():
        for r in read_tsv(udir / "MANIFEST.tsv"):
            name = r.get("name") or next(iter(r.values()), "")
            p = resolve(root, udir, r.get("file", ""), [udir / f"{name}.mp4", udir / name])
            if p is None:
                warnings.append(f"unrelated {name}: file not found, skipped")
                continue
            suspects.setdefault(p, Suspect(p, "unrelated"))
    else:
        for p in sorted(udir.glob("*.mp4")):
            if not p.name.startswith("."):  # skip fixtures/generate's .NAME.part.* temporaries
                suspects.setdefault(p.resolve(), Suspect(p.resolve(), "unrelated"))
    return originals, list(suspects.values()), warnings


# --------------------------------------------------------------------------- hashing


def cache_key(path: Path, sph: float, downsample: int, version: str) -> str:
    st = path.stat()
    raw = f"{path}|{st.st_size}|{st.st_mtime_ns}|{sph}|{downsample}|{version}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def probe_duration(path: Path) -> float | None:
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True, text=True, timeout=60,
        ).stdout.strip()
        return float(out)
    except Exception:
        return None


def hash_worker(path: str, sph: float, downsample: int, threads: int) -> dict:
    import vpdq  # imported in the worker process

    t0 = time.perf_counter()
    err = None
    try:
        feats = vpdq.computeHash(
            path, seconds_per_hash=sph, downsample_width=downsample,
            downsample_height=downsample, thread_count=threads,
        )
        # same serialisation as threatexchange VpdqCompactFeature: hex,quality,timestamp
        features = [f"{f.hex},{f.quality},{f.timestamp:.3f}" for f in feats]
    except Exception as e:  # vpdq raises a bare Exception on decode failure
        features, err = [], f"{type(e).__name__}: {e}"
    secs = time.perf_counter() - t0
    return {"path": path, "features": features, "hash_seconds": secs,
            "duration": probe_duration(Path(path)), "error": err}


def hash_all(paths: list[Path], args, version: str, log) -> tuple[dict, dict]:
    cache_dir = Path(args.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    results, todo = {}, []
    for p in paths:
        try:
            cf = cache_dir / f"{cache_key(p, args.seconds_per_hash, args.downsample, version)}.json"
        except OSError as e:  # vanished since the manifests were read
            results[p] = {"path": str(p), "features": [], "hash_seconds": 0.0, "duration": None,
                          "error": f"{type(e).__name__}: {e}"}
            continue
        if cf.is_file() and not args.no_cache:
            try:
                results[p] = json.loads(cf.read_text())
                continue
            except json.JSONDecodeError:
                pass
        todo.append((p, cf))
    t0 = time.perf_counter()
    if todo:
        log(f"hashing {len(todo)} videos with vpdq {version} at {args.seconds_per_hash} s/hash, "
            f"{args.jobs} process(es) x {args.threads or 'auto'} thread(s) "
            f"({len(results)} already cached in {cache_dir})")
        with ProcessPoolExecutor(max_workers=args.jobs) as ex:
            futs = {ex.submit(hash_worker, str(p), args.seconds_per_hash, args.downsample, args.threads): (p, cf)
                    for p, cf in todo}
            for i, fut in enumerate(as_completed(futs), 1):
                p, cf = futs[fut]
                r = fut.result()
                if r["error"] is None:
                    tmp = cf.with_suffix(".tmp")
                    tmp.write_text(json.dumps(r))
                    tmp.replace(cf)
                results[p] = r
                if i % 10 == 0 or i == len(todo):
                    log(f"  {i}/{len(todo)} hashed, {time.perf_counter() - t0:.1f} s")
    wall = time.perf_counter() - t0
    timing = {
        "videos": len(paths),
        "hashed_this_run": len(todo),
        "from_cache": len(paths) - len(todo),
        "wall_seconds_this_run": round(wall, 2),
        "sum_per_video_hash_seconds": round(sum(r["hash_seconds"] for r in results.values()), 2),
        "video_seconds": round(sum(r["duration"] or 0 for r in results.values()), 1),
        "frames_hashed": sum(len(r["features"]) for r in results.values()),
        "errors": {str(p): r["error"] for p, r in results.items() if r.get("error")},
    }
    return results, timing


# --------------------------------------------------------------------------- matching


def parse_features(lines: list[str]) -> list[tuple[str, int, float]]:
    out = []
    for s in lines:
        h, q, t = s.split(",")
        out.append((h, int(q), float(t)))
    return out


def prepare(lines: list[str], quality: int) -> np.ndarray:
    """dedupe by exact hash (first occurrence), then drop quality < threshold —
    same order as match_VPDQ_hash_brute.  Returns (n, 4) uint64."""
    seen, keep = set(), []
    for h, q, _ in parse_features(lines):
        if h in seen:
            continue
        seen.add(h)
        if q >= quality:
            keep.append(h)
    if not keep:
        return np.zeros((0, 4), dtype=np.uint64)
    buf = b"".join(bytes.fromhex(h) for h in keep)
    return np.frombuffer(buf, dtype=">u8").astype(np.uint64).reshape(-1, 4)


if hasattr(np, "bitwise_count"):
    def popcount(a: np.ndarray) -> np.ndarray:
        return np.bitwise_count(a)
else:  # numpy < 2.0
    _LUT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def popcount(a: np.ndarray) -> np.ndarray:
        return _LUT[a.view(np.uint8)].reshape(a.shape + (8,)).sum(-1)


def match_matrix(q: np.ndarray, r: np.ndarray, dist: int, chunk: int = 64) -> np.ndarray:
    """bool (len(q), len(r)): PDQ Hamming distance <= dist."""
    out = np.zeros((len(q), len(r)), dtype=bool)
    for i in range(0, len(q), chunk):
        x = q[i:i + chunk, None, :] ^ r[None, :, :]
        out[i:i + chunk] = popcount(x).sum(-1, dtype=np.int32) <= dist
    return out


def score_suspect(q: np.ndarray, ref_all: np.ndarray, owners: list[tuple[str, int, int]], dist: int):
    """query% and ref% of one suspect against every original."""
    res = {}
    m = match_matrix(q, ref_all, dist) if len(q) and len(ref_all) else None
    for name, a, b in owners:
        if m is None or a == b or len(q) == 0:
            res[name] = (0.0, 0.0)  # nothing comparable (library would divide by zero)
            continue
        sub = m[:, a:b]
        res[name] = (float(sub.any(1).sum() * 100 / len(q)), float(sub.any(0).sum() * 100 / (b - a)))
    return res


def verify_with_threatexchange(pairs, hashes, scores, quality, dist, log):
    from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

    def compact(lines):
        return [VpdqCompactFeature(h, q, t) for h, q, t in parse_features(lines)]

    t0, bad, done = time.perf_counter(), 0, 0
    for sp, op, oname in pairs:
        qf, rf = compact(hashes[sp]["features"]), compact(hashes[op]["features"])
        try:
            lib = match_VPDQ_hash_brute(qf, rf, quality, dist)
            lib = (lib.query_match_percent, lib.compared_match_percent)
        except ZeroDivisionError:
            lib = (0.0, 0.0)
        ours = scores[sp][oname]
        done += 1
        if abs(lib[0] - ours[0]) > 1e-9 or abs(lib[1] - ours[1]) > 1e-9:
            bad += 1
            log(f"  MISMATCH {sp.name} vs {oname}: threatexchange {lib} ours {ours}")
    log(f"verified {done} pairs against threatexchange match_VPDQ_hash_brute: "
        f"{done - bad} identical, {bad} different ({time.perf_counter() - t0:.1f} s)")
    return bad


# --------------------------------------------------------------------------- report


def family_key(f: str):
    if f == "unrelated":
        return (2, 0, f)
    return (0, FAMILY_ORDER.index(f), f) if f in FAMILY_ORDER else (1, 0, f)


def build_tables(suspects, scores, pct):
    tables = OrderedDict()
    fams = sorted({s.family for s in suspects}, key=family_key)
    for rule in RULES:
        def ok(qp, rp):
            return bool({"both": qp >= pct and rp >= pct, "query": qp >= pct, "ref": rp >= pct}[rule])

        rows, tot = [], defaultdict(float)
        for fam in fams:
            ss = [s for s in suspects if s.family == fam]
            pairs = found = wrong = 0
            qps, rps = [], []
            for s in ss:
                for oname, (qp, rp) in scores[s.path].items():
                    m = ok(qp, rp)
                    if oname in s.truth:
                        pairs += 1
                        found += m
                        qps.append(qp)
                        rps.append(rp)
                    else:
                        wrong += m
                pairs_missing = len(s.truth - set(scores[s.path]))  # truth original not registered
                pairs += pairs_missing
            row = OrderedDict(
                family=fam, cases=len(ss), pairs=pairs,
                recall=(found / pairs) if pairs else None, wrong=wrong,
                suspects_with_wrong=sum(
                    any(ok(*v) for o, v in scores[s.path].items() if o not in s.truth) for s in ss),
                median_query_pct=statistics.median(qps) if qps else None,
                median_ref_pct=statistics.median(rps) if rps else None,
            )
            rows.append(row)
            if fam != "unrelated":
                tot["cases"] += len(ss)
                tot["pairs"] += pairs
                tot["found"] += found
                tot["wrong"] += wrong
        if tot["cases"]:
            rows.append(OrderedDict(
                family="ALL EDITS", cases=int(tot["cases"]), pairs=int(tot["pairs"]),
                recall=tot["found"] / tot["pairs"] if tot["pairs"] else None, wrong=int(tot["wrong"]),
                suspects_with_wrong=None, median_query_pct=None, median_ref_pct=None))
        tables[rule] = rows
    return tables


def render(rule: str, rows, pct) -> str:
    head = ["family", "cases", "pairs", "recall", "wrong", "sus_w/wrong", "med_query%", "med_ref%"]

    def f(v, kind=None):
        if v is None:
            return "-"
        if kind == "recall":
            return f"{v:.3f}"
        if kind == "pct":
            return f"{v:.1f}"
        return str(v)

    body = [[r["family"], f(r["cases"]), f(r["pairs"]) if r["family"] != "unrelated" else "-",
             f(r["recall"], "recall"), f(r["wrong"]), f(r["suspects_with_wrong"]),
             f(r["median_query_pct"], "pct"), f(r["median_ref_pct"], "pct")] for r in rows]
    w = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = [f"[{rule}] " + RULES[rule].format(t=f"{pct:g}")]
    lines.append("  ".join(h.ljust(w[0]) if i == 0 else h.rjust(w[i]) for i, h in enumerate(head)))
    lines.append("  ".join("-" * x for x in w))
    for b in body:
        lines.append("  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(b)))
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def log_list(what: str, items: list, log, limit: int = 10) -> None:
    for x in items[:limit]:
        log(f"warning: {what} {x}")
    if len(items) > limit:
        log(f"warning: ... and {len(items) - limit} more ({len(items)} in all)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixtures", nargs="?", default="fixtures/out",
                    help="fixtures dir made by fixtures/generate (default: fixtures/out)")
    ap.add_argument("--seconds-per-hash", type=float, default=1.0,
                    help="vPDQ sampling interval in seconds (default 1.0; 0 = every frame)")
    ap.add_argument("--downsample", type=int, default=0,
                    help="vPDQ downsample_width/height before hashing (default 0 = native)")
    ap.add_argument("--distance", type=int, default=DISTANCE_THRESHOLD,
                    help="PDQ Hamming distance for a frame match, inclusive (default 31)")
    ap.add_argument("--quality", type=int, default=QUALITY_THRESHOLD,
                    help="ignore frames with PDQ quality below this (default 50)")
    ap.add_argument("--percent", type=float, default=PERCENT_THRESHOLD,
                    help="match-percentage threshold (default 80)")
    ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "reelguard-vpdq-cache"),
                    help="where per-video hashes are cached (default: $TMPDIR/reelguard-vpdq-cache)")
    ap.add_argument("--no-cache", action="store_true", help="re-hash everything (still writes the cache)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="hashing processes (default: nproc)")
    ap.add_argument("--threads", type=int, default=1,
                    help="vpdq thread_count per process (default 1; 0 = vpdq chooses)")
    ap.add_argument("--json", metavar="PATH", help="also write results as JSON to PATH ('-' = stdout only)")
    ap.add_argument("--pairs", metavar="PATH", help="write every (suspect, original) score as TSV to PATH")
    ap.add_argument("--verify-threatexchange", type=int, default=0, metavar="N",
                    help="re-score all ground-truth pairs plus N random other pairs with "
                         "threatexchange's match_VPDQ_hash_brute and fail on any difference")
    ap.add_argument("--allow-errors", action="store_true",
                    help="score even if some videos fail to hash (they are dropped; default: exit 3)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    quiet_stdout = args.json == "-"

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    root = Path(args.fixtures)
    if not root.is_dir():
        log(f"fixtures dir {root} not found (run fixtures/generate first)")
        return 2
    version = vpdq_version()
    originals, suspects, warnings = load_fixtures(root)
    for w in warnings:
        log(f"warning: {w}")
    missing = [w for w in warnings if "file not found" in w]
    if missing and not args.allow_errors:
        log(f"error: {len(missing)} manifest entries have no file (fixtures incomplete or being "
            "regenerated?). Re-run when fixtures/generate is done, or pass --allow-errors.")
        return 3
    if not originals or not suspects:
        log(f"nothing to evaluate: {len(originals)} originals, {len(suspects)} suspects")
        return 2
    log(f"{len(originals)} originals, {len(suspects)} suspects in {root}")

    o_paths = list(originals.values())
    s_paths = [s.path for s in suspects if s.path not in set(o_paths)]
    all_paths = list(OrderedDict.fromkeys(o_paths + s_paths))
    hashes, timing = hash_all(all_paths, args, version, log)
    errors = timing["errors"]
    if errors:
        log_list("hashing failed for", [f"{p}: {e}" for p, e in errors.items()], log)
        if not args.allow_errors:
            log(f"error: {len(errors)} of {len(all_paths)} videos could not be hashed (fixtures changing "
                "under us?); not scoring. Re-run, or pass --allow-errors to drop them.")
            return 3
        # a failed original is unregistered (its ground-truth pairs count as missed);
        # a failed suspect is left out of the tables
        originals = OrderedDict((n, p) for n, p in originals.items() if str(p) not in errors)
        suspects = [s for s in suspects if str(s.path) not in errors]

    t0 = time.perf_counter()
    owners, mats, start = [], [], 0
    for name, p in originals.items():
        m = prepare(hashes[p]["features"], args.quality)
        owners.append((name, start, start + len(m)))
        mats.append(m)
        start += len(m)
    ref_all = np.concatenate(mats) if mats else np.zeros((0, 4), np.uint64)
    scores, empty = {}, []
    for s in suspects:
        q = prepare(hashes[s.path]["features"], args.quality)
        if len(q) == 0:
            empty.append(str(s.path))
        scores[s.path] = score_suspect(q, ref_all, owners, args.distance)
    match_seconds = time.perf_counter() - t0
    empty_refs = [n for n, a, b in owners if a == b]
    log_list(f"no frame with quality >= {args.quality} (can match nothing) in original", empty_refs, log)
    log_list(f"no frame with quality >= {args.quality} (can match nothing) in suspect", empty, log)

    verify_bad = None
    if args.verify_threatexchange > 0:
        rng = random.Random(args.seed)
        gt = [(s.path, originals[o], o) for s in suspects for o in s.truth if o in originals]
        other = [(s.path, originals[o], o) for s in suspects for o in originals if o not in s.truth]
        sample = gt + rng.sample(other, min(args.verify_threatexchange, len(other)))
        verify_bad = verify_with_threatexchange(sample, hashes, scores, args.quality, args.distance, log)

    tables = build_tables(suspects, scores, args.percent)

    if args.pairs:
        with open(args.pairs, "w") as f:
            f.write("suspect\tfamily\toriginal\tground_truth\tquery_pct\tref_pct\n")
            for s in suspects:
                for o, (qp, rp) in scores[s.path].items():
                    rel = os.path.relpath(s.path, root.resolve())
                    f.write(f"{rel}\t{s.family}\t{o}\t{int(o in s.truth)}\t{qp:.2f}\t{rp:.2f}\n")

    settings = OrderedDict(
        vpdq_version=version, fixtures=str(root), seconds_per_hash=args.seconds_per_hash,
        downsample=args.downsample, distance_le=args.distance, quality_ge=args.quality,
        percent_ge=args.percent, originals=len(originals), suspects=len(suspects))
    timing["match_seconds"] = round(match_seconds, 2)

    if not quiet_stdout:
        print(f"vPDQ {version} | {args.seconds_per_hash:g} s/hash | frame match: PDQ distance <= "
              f"{args.distance}, quality >= {args.quality} | video match threshold {args.percent:g} %")
        if errors:
            print(f"WARNING: {len(errors)} videos failed to hash and were dropped (--allow-errors)")
        print(f"{len(originals)} originals registered, {len(suspects)} suspects "
              f"({timing['video_seconds']:.0f} s of video, {timing['frames_hashed']} frame hashes)")
        print(f"hashing: {timing['hashed_this_run']} videos hashed in {timing['wall_seconds_this_run']:.1f} s wall "
              f"({timing['from_cache']} from cache); sum of per-video hash times "
              f"{timing['sum_per_video_hash_seconds']:.1f} s; matching {match_seconds:.2f} s")
        print("recall = ground-truth (suspect, original) pairs found / pairs; wrong = matches to originals "
              "not in the suspect's ground truth; med_* = median over ground-truth pairs")
        print("vPDQ reports no time segments: no boundary-error column.\n")
        for rule, rows in tables.items():
            print(render(rule, rows, args.percent))
            print()
    if args.json:
        rules = {k: v.format(t=f"{args.percent:g}") for k, v in RULES.items()}
        doc = OrderedDict(settings=settings, timing=timing, rules=rules, tables=tables,
                          verify_mismatches=verify_bad, warnings=warnings,
                          suspects_without_quality_frames=empty, originals_without_quality_frames=empty_refs)
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 1 if verify_bad else 0


if __name__ == "__main__":
    sys.exit(main())
