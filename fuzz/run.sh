#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 5) from its committed seeds
# (fuzz/seeds/TARGET), new inputs going to a scratch corpus; prints one line per target
# with its executions and speed, then the total. A crash stops the run: its log (the panic
# and backtrace, libFuzzer's progress lines left out), then the input as base64, to save
# as a file and replay with `RUSTC_BOOTSTRAP=1 cargo fuzz run -O TARGET FILE`.
#
#   bash fuzz/run.sh 60
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer...); RUSTC_BOOTSTRAP=1 lets stable take
# them. -O on both build and run: the same flags, so `run` does not rebuild, and the profile
# in fuzz/Cargo.toml decides debug assertions (see fuzz/README.md). About 70 s to build
# from clean on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-5}

cargo_fuzz_version=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
RUSTC_BOOTSTRAP=1 cargo fuzz build -O
total=0
printf '%-16s %12s %10s\n' target executions per_second
for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list); do
    mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
    touch "$scratch/$target.start"
    seeds=()
    [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    if RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "$scratch/$target" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_EACH" -timeout=10 >"$scratch/$target.log" 2>&1; then
        # libFuzzer ends with "Done N runs in S second(s)".
        runs=$(grep -m1 '^Done' "$scratch/$target.log" | awk '{print $2}')
        took=$(grep -m1 '^Done' "$scratch/$target.log" | awk '{print $5}')
        printf '%-16s %12s %10s\n' "$target" "$runs" "$((runs / (took > 0 ? took : 1)))"
        total=$((total + runs))
    else
        grep -vE '^#[0-9]+[[:space:]]' "$scratch/$target.log" | tail -n 120
        if grep -q '^Error: failed to build fuzz script' "$scratch/$target.log"; then
            # The sources changed under the run, and no longer build.
            echo "fuzz target $target did not build" >&2
            exit 1
        fi
        echo "fuzz target $target found a crash; its input (base64), to save as a file and replay with" >&2
        echo "RUSTC_BOOTSTRAP=1 cargo fuzz run -O $target FILE:" >&2
        find "fuzz/artifacts/$target" -type f -newer "$scratch/$target.start" \
            -exec echo {} \; -exec base64 {} \; >&2
        exit 1
    fi
done
printf '%-16s %12s\n' total "$total"
echo "no crash found"
