#!/usr/bin/env bash
# What the `monitoring` feature costs one-to-one and fan-out throughput.
#
# Run from the workspace root:
#
#     benches/monitoring-cost.sh [OUT.md]
#
# Builds the `profile` binary in release twice, without and with
# `--features monitoring`, into two target directories (target/monitoring-off
# and target/monitoring-on), then:
#
# - instructions per event under callgrind: for `one_to_one` and `fan_out`
#   in both builds, and `one_to_one_monitored` / `fan_out_monitored` (a no-op
#   monitor registered) in the monitoring build. Each is run as R runs of N
#   events (`PROFILE_RUNS=R PROFILE_EVENTS=N`) at N=40000 and N=20000;
#   (Ir(40000) - Ir(20000)) / (R * 20000) is the cost per event without the
#   set-up;
# - time: the two builds' `profile WORKLOAD RUN_SECONDS` (mean ns per run of
#   20000 events) alternated ALTERNATIONS times, the median of each, and the
#   ratio on / off; the monitored workloads take part in the alternation.
#
# Prints a markdown section `### Monitoring cost`; with an argument, writes it
# to that file too. Needs valgrind. Environment (defaults): RUNS (5),
# ALTERNATIONS (4), RUN_SECONDS (3).
set -euo pipefail
shopt -s inherit_errexit

source "$(dirname "$0")/cost-common.sh"

off_dir=target/monitoring-off
on_dir=target/monitoring-on
off="$off_dir/release/profile"
on="$on_dir/release/profile"

log "building $off (default features)"
CARGO_TARGET_DIR="$off_dir" cargo build --release --quiet -p maiko-benches --bin profile
log "building $on (--features monitoring)"
CARGO_TARGET_DIR="$on_dir" cargo build --release --quiet -p maiko-benches --bin profile \
    --features monitoring

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

declare -A instr ratio_on ratio_mon
for w in one_to_one fan_out; do
    log "callgrind: $w (RUNS=$runs, $small and $large events)"
    instr[$w.off]="$(per_event "$off" "$w")"
    instr[$w.on]="$(per_event "$on" "$w")"
    instr[$w.mon]="$(per_event "$on" "${w}_monitored")"
    ratio_on[$w]="$(calc "printf \"%.3f\", ${instr[$w.on]} / ${instr[$w.off]}")"
    ratio_mon[$w]="$(calc "printf \"%.2f\", ${instr[$w.mon]} / ${instr[$w.off]}")"
done

declare -A samples
for w in one_to_one fan_out; do
    log "timed: $w, $alternations alternations of ${seconds} s per binary"
    for ((i = 1; i <= alternations; i++)); do
        samples[$w.off]+="$(timed "$off" "$w")"$'\n'
        samples[$w.on]+="$(timed "$on" "$w")"$'\n'
        samples[$w.mon]+="$(timed "$on" "${w}_monitored")"$'\n'
    done
done

declare -A med spr
for w in one_to_one fan_out; do
    for b in off on mon; do
        values="$(sed '/^$/d' <<<"${samples[$w.$b]}")"
        med[$w.$b]="$(median <<<"$values")"
        spr[$w.$b]="$(spread <<<"$values")"
    done
done

# Interpretation ------------------------------------------------------------

# feature_sentence WORKLOAD: the build-to-build instruction difference.
feature_sentence() {
    local w="$1" diff pct
    diff="$(calc "printf \"%+.1f\", ${instr[$w.on]} - ${instr[$w.off]}")"
    pct="$(calc "printf \"%+.1f\", (${instr[$w.on]} / ${instr[$w.off]} - 1) * 100")"
    if calc "exit !(${instr[$w.on]} / ${instr[$w.off]} < 1.01 && \
        ${instr[$w.on]} / ${instr[$w.off]} > 0.99)"; then
        echo "\`$w\`: compiling monitoring in with no monitor registered changes the" \
            "instructions per event by $diff ($pct%), within 1%: no measurable cost" \
            "on this path."
    else
        echo "\`$w\`: compiling monitoring in with no monitor registered changes the" \
            "instructions per event by $diff ($pct%), more than 1%: the code the" \
            "feature compiles in runs on every event even while no monitor watches."
    fi
}

# monitor_sentence WORKLOAD DELIVERIES: the cost of a registered no-op monitor.
monitor_sentence() {
    local w="$1" deliveries="$2" diff per
    diff="$(calc "printf \"%.0f\", ${instr[$w.mon]} - ${instr[$w.off]}")"
    per="$(calc "printf \"%.0f\", (${instr[$w.mon]} - ${instr[$w.off]}) / $deliveries")"
    if [[ "$deliveries" == 1 ]]; then
        echo "\`$w\`: a registered no-op monitor adds $diff instructions per event" \
            "(${ratio_mon[$w]}x): making the records of its dispatch, delivery and" \
            "handling, queueing them, and the dispatcher task taking them."
    else
        echo "\`$w\`: a registered no-op monitor adds $diff instructions per published" \
            "event (${ratio_mon[$w]}x), about $per per delivered copy: each of the" \
            "$deliveries copies makes its own dispatch, delivery and handling records."
    fi
}

# timed_sentence WORKLOAD: the on / off time ratio against the noise.
timed_sentence() {
    local w="$1" ratio pct noise
    ratio="$(calc "printf \"%.3f\", ${med[$w.on]} / ${med[$w.off]}")"
    pct="$(calc "printf \"%+.1f\", (${med[$w.on]} / ${med[$w.off]} - 1) * 100")"
    noise="$(calc "s = ${spr[$w.off]}; t = ${spr[$w.on]}; printf \"%.1f\", (s > t ? s : t)")"
    if calc "d = (${med[$w.on]} / ${med[$w.off]} - 1) * 100; if (d < 0) d = -d; exit !(d <= $noise)"; then
        echo "\`$w\`: the monitoring build takes ${ratio}x the time of the build" \
            "without it ($pct%), inside the run-to-run spread of either build" \
            "(up to $noise%): within noise."
    else
        echo "\`$w\`: the monitoring build takes ${ratio}x the time of the build" \
            "without it ($pct%), outside the run-to-run spread of either build" \
            "(up to $noise%)."
    fi
}

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain 2>/dev/null)" ]]; then
    commit="$commit (with uncommitted changes)"
fi

fmt_ns() { calc "printf \"%.0f\", $1 / $2"; }

section="$(
    echo "### Monitoring cost (\`monitoring-cost.sh\`)"
    echo
    echo "What the \`monitoring\` feature costs one-to-one (32 B) and fan-out (to 4," \
        "32 B) throughput, from \`benches/monitoring-cost.sh\`: the \`profile\`" \
        "binary built in release without (off) and with (on) \`--features" \
        "monitoring\` into two target directories; \"no-op monitor\" is the" \
        "monitoring build with a monitor that implements nothing registered" \
        "before the start. $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs," \
        "$(rustc --version | cut -d' ' -f1-2), $(valgrind --version)."
    echo
    echo "#### Instructions per event (callgrind)"
    echo
    echo "\`PROFILE_RUNS=$runs PROFILE_EVENTS=N valgrind --tool=callgrind\`, at" \
        "N=$large and N=$small: (Ir($large) - Ir($small)) / ($runs x" \
        "$((large - small))), the cost per published event without the set-up" \
        "(deterministic up to a few instructions)."
    echo
    echo "| workload | off | on | on ÷ off | no-op monitor | no-op monitor ÷ off |"
    echo "|---|---:|---:|---:|---:|---:|"
    for w in one_to_one fan_out; do
        echo "| \`$w\` | ${instr[$w.off]} | ${instr[$w.on]} | ${ratio_on[$w]}x" \
            "| ${instr[$w.mon]} | ${ratio_mon[$w]}x |"
    done
    echo
    feature_sentence one_to_one
    echo
    feature_sentence fan_out
    echo
    monitor_sentence one_to_one 1
    echo
    monitor_sentence fan_out 4
    echo
    echo "#### Time (alternating the two builds)"
    echo
    echo "\`profile WORKLOAD $seconds\` (current-thread runtime, mean time per run of" \
        "$small events over $seconds s), the off, on and no-op-monitor runs" \
        "alternated $alternations times; the medians of the $alternations means, per" \
        "event. Spread: (max - min) / median of the $alternations means."
    echo
    echo "| workload | off, ns/event | on, ns/event | on ÷ off | no-op monitor, ns/event | no-op monitor ÷ off | spread off / on / monitor |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for w in one_to_one fan_out; do
        echo "| \`$w\` | $(fmt_ns "${med[$w.off]}" "$small") | $(fmt_ns "${med[$w.on]}" "$small")" \
            "| $(calc "printf \"%.3f\", ${med[$w.on]} / ${med[$w.off]}")x" \
            "| $(fmt_ns "${med[$w.mon]}" "$small")" \
            "| $(calc "printf \"%.2f\", ${med[$w.mon]} / ${med[$w.off]}")x" \
            "| ${spr[$w.off]}% / ${spr[$w.on]}% / ${spr[$w.mon]}% |"
    done
    echo
    timed_sentence one_to_one
    echo
    timed_sentence fan_out
    echo
    for w in one_to_one fan_out; do
        extra="$(calc "printf \"%.0f\", (${med[$w.mon]} - ${med[$w.off]}) / $small")"
        echo "\`$w\`: with a no-op monitor registered it takes" \
            "$(calc "printf \"%.2f\", ${med[$w.mon]} / ${med[$w.off]}")x the time" \
            "($extra ns more per event): the records are made on the actors' task and" \
            "taken by the dispatcher task on the same thread."
        echo
    done
)"

printf '%s\n' "$section"
if [[ -n "$out" ]]; then
    printf '%s\n' "$section" >"$out"
    log "wrote $out"
fi
