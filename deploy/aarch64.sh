#!/usr/bin/env bash
# Builds postern for 64-bit ARM (a Raspberry Pi 4 or 5, an ARM VPS) on an x86-64 Debian or
# Ubuntu machine, then smoke-runs the result under qemu-user: it starts on loopback, takes
# a message over SMTP from Python's smtplib, exports it, and stops cleanly.
#
#   deploy/aarch64.sh            build and smoke-run
#   deploy/aarch64.sh --build    build only
#
# The binary is target/aarch64-unknown-linux-gnu/release/postern; copy it to the board.
# jemalloc is built for 64 KiB pages there (.cargo/config.toml), so it starts on kernels
# with 4, 16 and 64 KiB pages alike.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

echo "== building for $target"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
cargo build --release --locked --target "$target" -p server --bin postern
bin="$PWD/target/$target/release/postern"
aarch64-linux-gnu-strip -o "$bin.stripped" "$bin"
echo "built $bin ($(stat -c %s "$bin.stripped") bytes stripped)"
[ "${1:-}" = "--build" ] && exit 0

echo "== smoke run under qemu-user"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
postern() { qemu-aarch64 "$bin" --config "$work/postern.toml" "$@"; }

qemu-aarch64 "$bin" --version
cat > "$work/postern.toml" <<EOF
hostname = "mx.test"
data_dir = "data"
[dns]
nameservers = []
[listen]
smtp = ["127.0.0.1:0"]
submission = []
submissions = []
imap = []
imaps = []
pop3 = []
pop3s = []
https = []
http = []
managesieve = []
EOF
qemu-aarch64 "$bin" --config "$work/postern.toml" serve > "$work/banner" 2> "$work/log" &
server=$!
port=
for _ in $(seq 1 300); do
    port=$(awk '$1 == "smtp" { split($2, a, ":"); print a[2] }' "$work/banner")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start" >&2; cat "$work/log"; exit 1; }
echo "listening on 127.0.0.1:$port"
postern domain add example.test
postern user add alice@example.test --password-stdin <<< "a long enough passphrase"
python3 - "$port" <<'EOF'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("someone@example.net", ["alice@example.test"],
               "From: someone@example.net\r\nSubject: aarch64\r\n\r\nhello from qemu\r\n")
EOF
postern export alice@example.test --maildir "$work/export"
grep -rq "hello from qemu" "$work/export" || { echo "the message is not in the export" >&2; exit 1; }
kill -TERM "$server"
wait "$server" || true
server=
grep -q "postern stopped" "$work/log" || { echo "the server did not stop cleanly" >&2; cat "$work/log"; exit 1; }
echo "smoke run passed: a message taken over SMTP, stored, exported; a clean stop"
