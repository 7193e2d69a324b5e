#!/usr/bin/env bash
# Compares two probeshare builds in one sitting on one machine: runs
# `probeshare bench` with each binary in turn, N times each, and prints every
# run's ratios to the floor (plus csw-switch's ops/s and counts), then the
# median ratio per scenario for each binary.
#
#   bench/compare_before_after.sh BEFORE_BIN AFTER_BIN [N] [-- BENCH_ARGS...]
#
# N defaults to 3; BENCH_ARGS default to `--rounds 5` (e.g.
# `-- --rounds 5 --scenario 1x1 --scenario csw-switch`). Pairs alternate
# their order (before/after, then after/before, ...) so neither binary
# always runs first. Each run's one-minute load average is shown: figures
# taken while something else keeps the cores busy are not comparable.
set -euo pipefail

usage() {
    echo "usage: $0 BEFORE_BIN AFTER_BIN [N] [-- BENCH_ARGS...]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
before=$1
after=$2
shift 2
runs=3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    runs=$1
    shift
fi
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || usage
    shift
fi
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(--rounds 5)
for bin in "$before" "$after"; do
    [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
done

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# One run: prints its rows and appends "label<TAB>scenario<TAB>ratio" lines.
run_once() {
    local label=$1 bin=$2 run=$3 load output
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "== run $run, $label ($bin), load $load"
    output=$(RUST_LOG=warn "$bin" bench "${bench_args[@]}")
    # Table rows have five |-separated cells: scenario, floor, probeshare,
    # ratio, target. The csw-switch counts follow the table.
    awk -F'|' -v label="$label" -v out="$results" '
        NF == 5 && $1 !~ /^scenario/ && $4 ~ /[0-9]/ {
            scenario = $1; sub(/ +$/, "", scenario)
            ratio = $4; gsub(/ /, "", ratio)
            split($3, probeshare, " ")
            printf "   %-28s ratio %s  (probeshare %s ops/s)\n", scenario, ratio, probeshare[1]
            printf "%s\t%s\t%s\n", label, scenario, ratio >> out
        }
        /csw-switch: extra/ { sub(/^[^:]*: /, ""); print "   csw-switch: " $0 }
    ' <<<"$output"
}

for ((i = 1; i <= runs; i++)); do
    if ((i % 2 == 1)); then
        run_once before "$before" "$i"
        run_once after "$after" "$i"
    else
        run_once after "$after" "$i"
        run_once before "$before" "$i"
    fi
done

echo "== median ratio over $runs run(s)"
for label in before after; do
    awk -F'\t' -v label="$label" '$1 == label { print $2 "\t" $3 }' "$results" |
        sort -t$'\t' -k1,1 -k2,2g |
        awk -F'\t' -v label="$label" '
            { values[$1, ++count[$1]] = $2 }
            END {
                for (scenario in count) {
                    n = count[scenario]
                    if (n % 2) m = values[scenario, (n + 1) / 2]
                    else m = (values[scenario, n / 2] + values[scenario, n / 2 + 1]) / 2
                    printf "   %-6s %-28s %.2f\n", label, scenario, m
                }
            }' | sort -k2
done
