#!/usr/bin/env bash
# A RAM-backed block device for benchmarks: a file in /dev/shm, filled with
# random data, attached with losetup (direct-io off, so every request is
# served from memory by the loop worker: the device costs CPU, not waiting).
# Runs COMMAND with LOOP_DEVICE set to the device (and any argument that is
# exactly {} replaced by it), then always detaches the device and removes
# the file, whether COMMAND succeeds, fails or is interrupted.
#
#   sudo bench/ram-loop.sh [--size 1G] -- COMMAND [ARG...]
#   sudo bench/ram-loop.sh -- node dist/src/cli/main.js bench --filename {} --compare
#
# Needs root (losetup), util-linux and a tmpfs /dev/shm with room for --size.
set -euo pipefail

size=1G
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --size=*) size="${1#--size=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then usage >&2; exit 2; fi
if [[ $(id -u) -ne 0 ]]; then echo "ram-loop.sh: losetup needs root" >&2; exit 1; fi
command -v losetup >/dev/null || { echo "ram-loop.sh: losetup not found (util-linux)" >&2; exit 1; }
bytes=$(numfmt --from=iec "${size^^}") || { echo "ram-loop.sh: bad --size '$size'" >&2; exit 2; }
mib=$(( (bytes + 1048575) / 1048576 ))
free_kib=$(df -k --output=avail /dev/shm | tail -1)
if (( free_kib < mib * 1024 + 65536 )); then
  echo "ram-loop.sh: /dev/shm has $((free_kib / 1024)) MiB free, too little for ${mib} MiB" >&2; exit 1
fi

img=$(mktemp /dev/shm/linux-aio-bench-loop.XXXXXX)
dev=""
cleanup() {
  if [[ -n "$dev" ]]; then losetup --detach "$dev" 2>/dev/null || echo "ram-loop.sh: could not detach $dev" >&2; fi
  rm -f "$img"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dd if=/dev/urandom of="$img" bs=1M count="$mib" status=none
dev=$(losetup --find --show --direct-io=off "$img")
echo "ram-loop.sh: $dev = $img (${mib} MiB in /dev/shm, direct-io off)" >&2
export LOOP_DEVICE="$dev"

args=()
for a in "$@"; do
  if [[ "$a" == "{}" ]]; then args+=("$dev"); else args+=("$a"); fi
done
set +e
"${args[@]}"
rc=$?
set -e
exit "$rc"
