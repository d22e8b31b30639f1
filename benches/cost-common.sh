# What the scripts that compare builds of the `profile` binary
# (`monitoring-cost.sh`, `metrics-cost.sh`) share: their settings from the
# command line and the environment, the checks before they build, and the
# measuring functions. Sourced, not run, from the workspace root; the
# caller then sets `tmp` (a directory it removes).

out="${1:-}"
runs="${RUNS:-5}"
alternations="${ALTERNATIONS:-4}"
seconds="${RUN_SECONDS:-3}"
small=20000
large=40000

if [[ ! -f benches/Cargo.toml || ! -f Cargo.toml ]]; then
    echo "run from the workspace root (benches/Cargo.toml not found)" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind not found" >&2; exit 2; }

log() { echo "$*" >&2; }

# ir BINARY WORKLOAD EVENTS [VAR=VALUE...]: total instructions of RUNS runs
# under callgrind, with those variables in the environment.
ir() {
    local file
    file="$(mktemp -p "$tmp" callgrind.XXXXXX)"
    env PROFILE_RUNS="$runs" PROFILE_EVENTS="$3" "${@:4}" \
        valgrind --tool=callgrind --callgrind-out-file="$file" "$1" "$2" \
        >"$tmp/valgrind.log" 2>&1 || { cat "$tmp/valgrind.log" >&2; return 1; }
    awk '/^(summary|totals):/ { print $2; exit }' "$file"
}

# per_event BINARY WORKLOAD [VAR=VALUE...]: instructions per event (one
# decimal).
per_event() {
    local a b
    b="$(ir "$1" "$2" "$large" "${@:3}")"
    a="$(ir "$1" "$2" "$small" "${@:3}")"
    log "  $2 ($1): Ir $large events $b, $small events $a"
    awk -v a="$a" -v b="$b" -v r="$runs" -v d="$((large - small))" \
        'BEGIN { printf "%.1f", (b - a) / (r * d) }'
}

# calc EXPRESSION: awk arithmetic on its arguments.
calc() { awk "BEGIN { $1 }"; }

# timed BINARY WORKLOAD [VAR=VALUE...]: mean ns per run of the timed mode.
timed() {
    env "${@:3}" "$1" "$2" "$seconds" | sed -n 's/.*(\([0-9]*\) ns)$/\1/p'
}

# median of the numbers on stdin (mean of the middle two for an even count).
median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread of the numbers on stdin: (max - min) / median, in percent.
spread() {
    local values m
    values="$(cat)"
    m="$(median <<<"$values")"
    sort -n <<<"$values" | awk -v m="$m" 'NR == 1 { lo = $1 } { hi = $1 }
        END { printf "%.1f", (hi - lo) / m * 100 }'
}

