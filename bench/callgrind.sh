#!/usr/bin/env bash
# Client-side instructions per operation, weir against the raw driver, by callgrind.
#
#   bench/callgrind.sh CHECKOUT [PROBE.rs]
#
# CHECKOUT: a checkout of weir (e.g. /work/wt-base), this one or an older commit. PROBE.rs
#        (default: src/bin/cg_probe.rs next to this script) is the probe measured everywhere,
#        so that two commits run the same client code: in a checkout with the bench/ member it
#        replaces CHECKOUT/bench/src/bin/cg_probe.rs when different, and the build is
#        `cargo build --release -p weir-bench --bin cg_probe`; in an older checkout (no bench/,
#        the peers still dev-dependencies of the root crate) it is copied to
#        CHECKOUT/examples/cg_probe.rs and built with `cargo build --release --example cg_probe`.
# Builds in CHECKOUT with its own target dir, creates the cg_ tables if needed (one native run
# per backend), then for each of the 8 configurations (postgres|mysql x weir|raw x w1|w2) runs
# the probe under `valgrind --tool=callgrind` for two N and prints
# per-op = (Ir(N2) - Ir(N1)) / (N2 - N1), Ir being callgrind's total ("summary:" in the out
# file, the same as "Collected"), so setup, connect and warm-up cancel.
#
# Environment (all optional):
#   TARGET_DIR   cargo target dir   (default /work/target-<basename of CHECKOUT without "wt-">)
#   OUT_DIR      where the callgrind files and logs go
#                (default /work/callgrind/runs/<name>-<commit>-<time>)
#   W1_N1 W1_N2  point selects      (default 5000 25000)
#   W2_N1 W2_N2  rows streamed      (default 50000 400000; at most 500000)
#   WARMUP       warm-up ops / rows (default 200)
#   REPEAT       times each configuration is measured (default 1; 2 shows the repeatability)
#   BACKENDS CLIENTS WORKLOADS  subsets, e.g. BACKENDS=postgres WORKLOADS=w1
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "${1:?usage: callgrind.sh CHECKOUT [PROBE.rs]}" && pwd)
probe=$(realpath "${2:-$here/src/bin/cg_probe.rs}")
name=$(basename "$repo")
TARGET_DIR=${TARGET_DIR:-/work/target-${name#wt-}}
W1_N1=${W1_N1:-5000}
W1_N2=${W1_N2:-25000}
W2_N1=${W2_N1:-50000}
W2_N2=${W2_N2:-400000}
WARMUP=${WARMUP:-200}
REPEAT=${REPEAT:-1}
BACKENDS=${BACKENDS:-postgres mysql}
CLIENTS=${CLIENTS:-weir raw}
WORKLOADS=${WORKLOADS:-w1 w2}

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
# "+dirty": changes besides the probe, which this script may have replaced itself.
dirty=$(git -C "$repo" status --porcelain --untracked-files=no -- . ':(exclude)bench/src/bin/cg_probe.rs' 2>/dev/null \
    | grep -q . && echo "+dirty" || true)
OUT_DIR=${OUT_DIR:-/work/callgrind/runs/$name-$commit-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT_DIR"

if [[ -f $repo/bench/Cargo.toml ]]; then
    dest=$repo/bench/src/bin/cg_probe.rs
    build=(cargo build --release -p weir-bench --bin cg_probe)
    bin=$TARGET_DIR/release/cg_probe
else
    dest=$repo/examples/cg_probe.rs
    build=(cargo build --release --example cg_probe)
    bin=$TARGET_DIR/release/examples/cg_probe
fi
if [[ ! -f $dest ]]; then
    cp "$probe" "$dest"
    echo "copied $probe -> $dest" >&2
elif ! cmp -s "$probe" "$dest"; then
    cp "$probe" "$dest"
    echo "replaced $dest with $probe (they differed)" >&2
fi
cp "$dest" "$OUT_DIR/cg_probe.rs"

echo "building in $repo ($commit$dirty), target $TARGET_DIR" >&2
echo "${build[*]}" >&2
(cd "$repo" && CARGO_TARGET_DIR=$TARGET_DIR "${build[@]}") >"$OUT_DIR/build.log" 2>&1 \
    || { tail -40 "$OUT_DIR/build.log" >&2; exit 1; }
cp "$bin" "$OUT_DIR/cg_probe.bin"
bin=$OUT_DIR/cg_probe.bin

for b in $BACKENDS; do
    "$bin" --backend "$b" --setup
done

# run BACKEND CLIENT WORKLOAD N REP -> prints the total Ir
run() {
    local tag="$1-$2-$3-n$4-r$5"
    valgrind --tool=callgrind --callgrind-out-file="$OUT_DIR/$tag.callgrind" \
        "$bin" --backend "$1" --client "$2" --workload "$3" --n "$4" --warmup "$WARMUP" \
        >"$OUT_DIR/$tag.log" 2>&1 || { cat "$OUT_DIR/$tag.log" >&2; return 1; }
    grep -q "ops=$4 " "$OUT_DIR/$tag.log" || { echo "$tag: probe did not report ops=$4" >&2; return 1; }
    awk '/^summary:/ {print $2}' "$OUT_DIR/$tag.callgrind"
}

results=$OUT_DIR/results.tsv
printf 'backend\tclient\tworkload\tN1\tN2\trep\tIr_N1\tIr_N2\tper_op\n' >"$results"
for b in $BACKENDS; do
    for w in $WORKLOADS; do
        if [[ $w == w1 ]]; then n1=$W1_N1 n2=$W1_N2; else n1=$W2_N1 n2=$W2_N2; fi
        for c in $CLIENTS; do
            for ((r = 1; r <= REPEAT; r++)); do
                i1=$(run "$b" "$c" "$w" "$n1" "$r")
                i2=$(run "$b" "$c" "$w" "$n2" "$r")
                per=$(awk -v a="$i1" -v b="$i2" -v n1="$n1" -v n2="$n2" 'BEGIN {printf "%.1f", (b - a) / (n2 - n1)}')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$c" "$w" "$n1" "$n2" "$r" "$i1" "$i2" "$per" >>"$results"
                printf '%-8s %-4s %s rep %d: Ir(%d)=%d Ir(%d)=%d -> %s/op\n' "$b" "$c" "$w" "$r" "$n1" "$i1" "$n2" "$i2" "$per" >&2
            done
        done
    done
done

echo
echo "weir @ $commit$dirty ($repo); callgrind Ir per op = (Ir(N2)-Ir(N1))/(N2-N1); W1 per point select (N $W1_N1, $W1_N2), W2 per row (N $W2_N1, $W2_N2)"
awk -F'\t' '
NR == 1 { next }
{
    k = $1 SUBSEP $3
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    key = k SUBSEP $2
    sum[key] += $9; cnt[key]++
    if (!(key in lo) || $9 < lo[key]) lo[key] = $9
    if (!(key in hi) || $9 > hi[key]) hi[key] = $9
}
END {
    printf "%-9s %-3s %12s %12s %10s %s\n", "backend", "wl", "weir", "raw", "weir/raw", "(spread max-min over repeats, % of mean)"
    for (i = 1; i <= nk; i++) {
        split(order[i], p, SUBSEP)
        kw = order[i] SUBSEP "weir"; kr = order[i] SUBSEP "raw"
        mw = (kw in cnt) ? sum[kw] / cnt[kw] : 0; mr = (kr in cnt) ? sum[kr] / cnt[kr] : 0
        sp = ""
        if (cnt[kw] > 1) sp = sp sprintf(" weir %.2f%%", 100 * (hi[kw] - lo[kw]) / mw)
        if (cnt[kr] > 1) sp = sp sprintf(" raw %.2f%%", 100 * (hi[kr] - lo[kr]) / mr)
        printf "%-9s %-3s %12.1f %12.1f %10s%s\n", p[1], p[2], mw, mr, (mr > 0 && mw > 0) ? sprintf("%.3f", mw / mr) : "-", sp
    }
}' "$results"
echo "raw totals: $results"
