#!/usr/bin/env bash
# Reproduces BENCHMARKS.md (`npm run bench`, which builds first).
#
# 4k random O_DIRECT reads at queue depth 1 and 32 on three targets: a file
# on tmpfs (/dev/shm, Linux 6.6+: the software path alone), a 1 GiB file on
# a disk file system, and a 1 GiB RAM-backed loop device (bench/ram-loop.sh,
# root only). Systems: fio's default libaio job, fio at its best libaio
# settings, fio's io_uring engine with its default job and at its best
# (--fixedbufs --registerfiles, batched), AioFile.read on Linux AIO (aio) and
# on io_uring (uring), AioFile.readMany (aio-many) and fs.promises. The
# io_uring systems are skipped, with the reason, where io_uring is not allowed.
# Every round runs every system at each depth back to back; REPEAT rounds;
# each ratio is the median of the per-round ratios, with their range. Raw
# JSON goes to $OUT; the part of BENCHMARKS.md between the "bench:begin" and
# "bench:end" markers is rewritten from it.
#
# Knobs (environment): RUNTIME=5 RAMP=1 REPEAT=5 SIZE=1g DEPTHS=1,32
# ENGINES=fio,fio-best,fio-uring,fio-uring-best,aio,aio-many,uring,fs
# (uring-many is there too) OUT=bench/results/latest, TMPFS=0 / DISK=0 /
# LOOP=0 skip a target. About 40 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME=${RUNTIME:-5}
RAMP=${RAMP:-1}
REPEAT=${REPEAT:-5}
SIZE=${SIZE:-1g}
DEPTHS=${DEPTHS:-1,32}
ENGINES=${ENGINES:-fio,fio-best,fio-uring,fio-uring-best,aio,aio-many,uring,fs}
OUT=${OUT:-bench/results/latest}
TMPFS=${TMPFS:-1}
DISK=${DISK:-1}
LOOP=${LOOP:-1}
BENCH=(node dist/src/cli/main.js bench)

log() { echo "bench/run.sh: $*" >&2; }

# One target: randread at each depth, every engine, REPEAT rounds. Exit
# status 1 from bench (a run failed) is kept in the JSON and does not stop
# the others.
run_set() {
  local label="$1"; shift
  log "$label: randread 4k, QD $DEPTHS, $ENGINES, $REPEAT rounds of ${RAMP}s+${RUNTIME}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "${BENCH[@]}" --engine "$ENGINES" --iodepth "$DEPTHS" --rw randread --bs 4k --repeat "$REPEAT" \
    --runtime "$RUNTIME" --ramp_time "$RAMP" --size "$SIZE" --json "$@" > "$OUT/$label.json" \
    || log "$label: some run failed (see the JSON)"
}

# Re-entry from bench/ram-loop.sh: the loop device's set.
if [[ "${1:-}" == "--loop-set" ]]; then
  run_set loop --filename "$2"
  exit 0
fi

[[ -f dist/src/cli/main.js ]] || { log "build first: npm run build"; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.svg

if ! command -v fio >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing fio (apt-get install -y fio)"
    { apt-get update -qq && apt-get install -y -qq fio; } >/dev/null 2>&1 || log "could not install fio: fio rows will be missing"
  else
    log "fio is not on PATH (apt-get install -y fio): fio rows will be missing"
  fi
fi

{
  echo "{"
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\","
  echo "  \"dirty\": $([[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] && echo true || echo false),"
  echo "  \"started\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"loadavgBefore\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"runtime\": \"$RUNTIME\", \"ramp\": \"$RAMP\", \"repeat\": $REPEAT"
  echo "}"
} > "$OUT/meta.json"

if [[ "$TMPFS" != 0 ]]; then
  run_set tmpfs --tmpfs || true
fi

if [[ "$DISK" != 0 ]]; then
  dir=$(node --input-type=module -e "import('./dist/src/bench/target.js').then((m) => console.log(m.defaultDirectory()))")
  disk="$dir/linux-aio-bench-disk.$$"
  trap 'rm -f "$disk"' EXIT
  log "disk target: $disk ($SIZE)"
  run_set disk --filename "$disk"
  rm -f "$disk"
fi

if [[ "$LOOP" != 0 ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    bench/ram-loop.sh --size "$SIZE" -- "$0" --loop-set {}
  else
    log "not root: no RAM-backed loop device (sudo npm run bench for it)"
  fi
fi

sed -i "s/^}$/, \"loadavgAfter\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"finished\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" }/" "$OUT/meta.json"
node dist/bench/make-report.js "$OUT" BENCHMARKS.md
log "BENCHMARKS.md updated from $OUT"
