#!/usr/bin/env python3
"""Builds the tables of README.md from criterion's estimates.

Usage: table.py CRITERION_DIR OUT_DIR
Copies every estimates.json it quotes to OUT_DIR/estimates/<group>/<id>/<suite>.json
and prints the markdown tables on stdout.
"""
import json, os, shutil, sys

src, out = sys.argv[1], sys.argv[2]
SUITES = ["AES_128_CTR_HMAC_SHA256_80", "AES_128_CTR_HMAC_SHA256_64", "AES_128_CTR_HMAC_SHA256_32",
          "AES_128_GCM_SHA256_128", "AES_256_GCM_SHA512_128",
          "AES_256_CTR_HMAC_SHA512_80", "AES_256_CTR_HMAC_SHA512_64", "AES_256_CTR_HMAC_SHA512_32"]


def est(group, ident, suite):
    path = os.path.join(src, group, ident, suite, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    dest = os.path.join(out, "estimates", group, ident.replace(" ", "_"), suite + ".json")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copyfile(path, dest)
    e = json.load(open(path))
    m = e["median"]
    return m["point_estimate"], m["confidence_interval"]["lower_bound"], m["confidence_interval"]["upper_bound"], e["median_abs_dev"]["point_estimate"]


def ns(v):
    return f"{v / 1000:.2f} µs" if v >= 1000 else f"{v:.0f} ns"


def cell(e):
    if e is None:
        return "—", "—"
    med, lo, hi, mad = e
    return f"{1e9 / med / 1000:,.0f} k", f"{ns(med)} [{ns(lo)}–{ns(hi)}], MAD {ns(mad)}"


for op in ["encrypt", "decrypt"]:
    for size in [100, 1200]:
        group = f"sframe-{op}-{size}B"
        print(f"\n### {op}, {size}-byte frames\n")
        print("| suite | throng frames/s | sframe crate frames/s | throng / crate | throng median [95% CI], MAD | crate median [95% CI], MAD |")
        print("|---|---:|---:|---:|---|---|")
        for s in SUITES:
            t, c = est(group, "throng", s), est(group, "sframe-crate", s)
            if t is None and c is None:
                continue
            ratio = f"{c[0] / t[0]:.2f}×" if t and c else "—"
            tf, td = cell(t)
            cf, cd = cell(c)
            print(f"| {s} | {tf} | {cf} | {ratio} | {td} | {cd} |")

print("\n### A sender's key\n")
print("| suite | throng: derive one KID's key | sframe crate: derive one KID's key | ring: enter an epoch (any group size) | ring: first frame of a new sender (derive + decrypt 100 B) |")
print("|---|---|---|---|---|")
for s in SUITES:
    cols = []
    for ident in ["throng derive", "sframe-crate derive", "ring enter_epoch (10,000 members)", "ring first frame of a new sender"]:
        e = est("sframe-key", ident, s)
        cols.append("—" if e is None else f"{ns(e[0])} [{ns(e[1])}–{ns(e[2])}]")
    if all(c == "—" for c in cols):
        continue
    print(f"| {s} | " + " | ".join(cols) + " |")
