#!/usr/bin/env bash
# Reproduces BENCHMARKS.md (`npm run bench`, which builds first).
#
# 4k random reads and writes, O_DIRECT, on a 1 GiB file on a disk file
# system and on a 1 GiB RAM-backed loop device (bench/ram-loop.sh, root
# only), at iodepth 1, 8, 32 and 128, through fio (libaio), AioFile (aio),
# AioFile (threadpool) and fs.promises; every system measured in the same
# run, 3 runs interleaved, medians. Then the issue-5 targets: 4k randread at
# QD32 with fio's default-length runs (fio, aio, fs). Raw JSON and the SVG
# charts go to $OUT; the tables in BENCHMARKS.md between the "bench:begin"
# and "bench:end" markers are rewritten from them.
#
# Knobs (environment): RUNTIME=5 RAMP=1 (sweeps), TARGET_RUNTIME=10
# TARGET_RAMP=2 (targets; TARGETS=0 skips them), REPEAT=3, SIZE=1g,
# OUT=bench/results/latest, LOOP=0 skips the loop device.
# About 25 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME=${RUNTIME:-5}
RAMP=${RAMP:-1}
TARGET_RUNTIME=${TARGET_RUNTIME:-10}
TARGET_RAMP=${TARGET_RAMP:-2}
TARGETS=${TARGETS:-1}
REPEAT=${REPEAT:-3}
SIZE=${SIZE:-1g}
OUT=${OUT:-bench/results/latest}
LOOP=${LOOP:-1}
BENCH=(node dist/src/cli/main.js bench)

log() { echo "bench/run.sh: $*" >&2; }

# One target: both sweeps, then the QD32 target runs. Exit status 1 from bench
# (a run failed) is kept in the JSON and does not stop the others.
run_set() {
  local label="$1" target="$2"
  for rw in randread randwrite; do
    log "$label $rw: fio, aio, threadpool, fs at QD 1,8,32,128, ${REPEAT}x ${RAMP}s+${RUNTIME}s"
    "${BENCH[@]}" --compare --sweep --rw "$rw" --bs 4k --repeat "$REPEAT" --runtime "$RUNTIME" --ramp_time "$RAMP" \
      --filename "$target" --size "$SIZE" --json --chart "$OUT/$label-$rw.svg" > "$OUT/$label-$rw.json" \
      || log "$label $rw: some run failed (see the JSON)"
  done
  if [[ "$TARGETS" != 0 ]]; then
    log "$label targets: randread QD32, fio, aio, fs, ${REPEAT}x ${TARGET_RAMP}s+${TARGET_RUNTIME}s"
    "${BENCH[@]}" --engine fio,aio,fs --iodepth 32 --rw randread --bs 4k --repeat "$REPEAT" \
      --runtime "$TARGET_RUNTIME" --ramp_time "$TARGET_RAMP" --filename "$target" --size "$SIZE" --json \
      > "$OUT/$label-targets.json" || log "$label targets: some run failed (see the JSON)"
  fi
}

# Re-entry from bench/ram-loop.sh: the loop device's set.
if [[ "${1:-}" == "--loop-set" ]]; then
  run_set loop "$2"
  exit 0
fi

[[ -f dist/src/cli/main.js ]] || { log "build first: npm run build"; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.svg

if ! command -v fio >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing fio (apt-get install -y fio)"
    { apt-get update -qq && apt-get install -y -qq fio; } >/dev/null 2>&1 || log "could not install fio: fio columns will be missing"
  else
    log "fio is not on PATH (apt-get install -y fio): fio columns will be missing"
  fi
fi

{
  echo "{"
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\","
  echo "  \"dirty\": $([[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] && echo true || echo false),"
  echo "  \"started\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"loadavgBefore\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"sweep\": { \"runtime\": \"$RUNTIME\", \"ramp\": \"$RAMP\" }, \"targets\": { \"runtime\": \"$TARGET_RUNTIME\", \"ramp\": \"$TARGET_RAMP\" }, \"repeat\": $REPEAT"
  echo "}"
} > "$OUT/meta.json"

dir=$(node --input-type=module -e "import('./dist/src/bench/target.js').then((m) => console.log(m.defaultDirectory()))")
disk="$dir/linux-aio-bench-disk.$$"
trap 'rm -f "$disk"' EXIT
log "disk target: $disk ($SIZE)"
run_set disk "$disk"
rm -f "$disk"

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
