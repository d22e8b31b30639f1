#!/usr/bin/env bash
# What the `metrics` feature costs one-to-one and fan-out throughput.
#
# Run from the workspace root:
#
#     benches/metrics-cost.sh [OUT.md]
#
# Builds the `profile` binary in release twice, without and with
# `--features metrics`, into target/metrics-off and target/metrics-on, then
# measures `one_to_one` and `fan_out` three ways: the default build ("off"),
# the metrics build with no recorder installed ("on"), and the metrics
# build with the Prometheus recorder of `metrics-exporter-prometheus`
# installed (`PROFILE_RECORDER=prometheus`, "prometheus"):
#
# - instructions per event under callgrind, as R runs of N events at
#   N=40000 and N=20000: (Ir(40000) - Ir(20000)) / (R * 20000);
# - time: `profile WORKLOAD RUN_SECONDS` of the three, alternated
#   ALTERNATIONS times, the median of each.
#
# The goals (issue "Operating it"): "on" within 2% of "off"; "prometheus"
# under 1.3x "off" in instructions on one-to-one.
#
# Prints a markdown section `### Metrics cost`; with an argument, writes it
# to that file too. Needs valgrind. Environment (defaults): RUNS (5),
# ALTERNATIONS (4), RUN_SECONDS (3).
set -euo pipefail
shopt -s inherit_errexit

source "$(dirname "$0")/cost-common.sh"

off="target/metrics-off/release/profile"
on="target/metrics-on/release/profile"
log "building $off (default features)"
CARGO_TARGET_DIR=target/metrics-off cargo build --release --quiet -p maiko-benches --bin profile
log "building $on (--features metrics)"
CARGO_TARGET_DIR=target/metrics-on cargo build --release --quiet -p maiko-benches --bin profile \
    --features metrics

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

builds=(off on prometheus)
# run_args BUILD: the binary and environment of one way of measuring.
run_args() {
    case "$1" in
        off) echo "$off" ;;
        on) echo "$on" ;;
        prometheus) echo "$on PROFILE_RECORDER=prometheus" ;;
    esac
}

declare -A instr samples med spr
for w in one_to_one fan_out; do
    log "callgrind: $w (RUNS=$runs, $small and $large events)"
    for b in "${builds[@]}"; do
        read -r bin env_args <<<"$(run_args "$b")"
        # shellcheck disable=SC2086 # env_args is empty or one VAR=VALUE
        instr[$w.$b]="$(per_event "$bin" "$w" $env_args)"
    done
done
for w in one_to_one fan_out; do
    log "timed: $w, $alternations alternations of ${seconds} s per build"
    for ((i = 1; i <= alternations; i++)); do
        for b in "${builds[@]}"; do
            read -r bin env_args <<<"$(run_args "$b")"
            # shellcheck disable=SC2086
            samples[$w.$b]+="$(timed "$bin" "$w" $env_args)"$'\n'
        done
    done
    for b in "${builds[@]}"; do
        values="$(sed '/^$/d' <<<"${samples[$w.$b]}")"
        med[$w.$b]="$(median <<<"$values")"
        spr[$w.$b]="$(spread <<<"$values")"
    done
done

ratio() { calc "printf \"%.3f\", $1 / $2"; }
per_ns() { calc "printf \"%.0f\", $1 / $small"; }

# verdict WORKLOAD: the two goals, against this run's figures.
verdict() {
    local w="$1" on_pct prom
    on_pct="$(calc "printf \"%+.1f\", (${instr[$w.on]} / ${instr[$w.off]} - 1) * 100")"
    prom="$(ratio "${instr[$w.prometheus]}" "${instr[$w.off]}")"
    if calc "exit !(${instr[$w.on]} / ${instr[$w.off]} <= 1.02)"; then
        echo "\`$w\`: the feature compiled in with no recorder changes the instructions" \
            "per event by $on_pct%: within the 2% goal."
    else
        echo "\`$w\`: the feature compiled in with no recorder changes the instructions" \
            "per event by $on_pct%: over the 2% goal."
    fi
    echo
    if [[ "$w" == one_to_one ]]; then
        if calc "exit !($prom < 1.3)"; then
            echo "\`$w\`: with the Prometheus recorder installed, ${prom}x the" \
                "instructions of the default build: under the 1.3x goal."
        else
            echo "\`$w\`: with the Prometheus recorder installed, ${prom}x the" \
                "instructions of the default build: over the 1.3x goal."
        fi
    else
        echo "\`$w\`: with the Prometheus recorder installed, ${prom}x the instructions" \
            "of the default build (four subscribers: each copy moves its actor's" \
            "counters and timings)."
    fi
}

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- . ':!benches/results' ':!benches/RESULTS.md' 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
fi

section="$(
    echo "### Metrics cost (\`metrics-cost.sh\`)"
    echo
    echo "What the \`metrics\` feature costs one-to-one (32 B) and fan-out (to 4," \
        "32 B) throughput, from \`benches/metrics-cost.sh\`: the \`profile\` binary" \
        "built in release without (off) and with (on) \`--features metrics\`," \
        "the latter also run with the Prometheus recorder of" \
        "\`metrics-exporter-prometheus\` installed (prometheus). Goals: on within" \
        "2% of off; prometheus under 1.3x off in instructions, one-to-one." \
        "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs," \
        "$(rustc --version | cut -d' ' -f1-2), $(valgrind --version)."
    echo
    echo "#### Instructions per event (callgrind)"
    echo
    echo "\`PROFILE_RUNS=$runs PROFILE_EVENTS=N valgrind --tool=callgrind\`, at" \
        "N=$large and N=$small: (Ir($large) - Ir($small)) / ($runs x" \
        "$((large - small))), the cost per published event without the set-up."
    echo
    echo "| workload | off | on | on ÷ off | prometheus | prometheus ÷ off |"
    echo "|---|---:|---:|---:|---:|---:|"
    for w in one_to_one fan_out; do
        echo "| \`$w\` | ${instr[$w.off]} | ${instr[$w.on]}" \
            "| $(ratio "${instr[$w.on]}" "${instr[$w.off]}")x | ${instr[$w.prometheus]}" \
            "| $(ratio "${instr[$w.prometheus]}" "${instr[$w.off]}")x |"
    done
    echo
    verdict one_to_one
    echo
    verdict fan_out
    echo
    echo "#### Time (alternating the three)"
    echo
    echo "\`profile WORKLOAD $seconds\` (current-thread runtime), off, on and" \
        "prometheus alternated $alternations times; the medians of the" \
        "$alternations means per run of $small events, per event. Spread:" \
        "(max - min) / median of the $alternations means."
    echo
    echo "| workload | off, ns/event | on, ns/event | on ÷ off | prometheus, ns/event | prometheus ÷ off | spread off / on / prometheus |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for w in one_to_one fan_out; do
        echo "| \`$w\` | $(per_ns "${med[$w.off]}") | $(per_ns "${med[$w.on]}")" \
            "| $(ratio "${med[$w.on]}" "${med[$w.off]}")x | $(per_ns "${med[$w.prometheus]}")" \
            "| $(ratio "${med[$w.prometheus]}" "${med[$w.off]}")x" \
            "| ${spr[$w.off]}% / ${spr[$w.on]}% / ${spr[$w.prometheus]}% |"
    done
)"

printf '%s\n' "$section"
if [[ -n "$out" ]]; then
    printf '%s\n' "$section" >"$out"
    log "wrote $out"
fi
