#!/usr/bin/env bash
# The file-level suites (model check, GC, workers, exit paths, faults, ENOSPC,
# EIO, fuzz) once more, on the io_uring engine: LINUX_AIO_ENGINE=uring makes
# open() and new IoQueue() use it wherever a test names no engine. The last
# step of `npm test`. Skipped, with the reason, where this machine cannot set
# up a ring.
#
#   bash test/uring/run.sh     (after npm run build)
set -euo pipefail
cd "$(dirname "$0")/../.."

why="$(node --input-type=module -e "
  const { uringAvailability } = await import('./dist/src/engine/select.js');
  const u = uringAvailability();
  if (!u.usable) console.log(u.reason);
")"
if [[ -n "$why" ]]; then
  echo "test:uring: skipped: io_uring is not usable here, the file-level suites ran on Linux AIO only: $why"
  exit 0
fi

export LINUX_AIO_ENGINE=uring
# Shortened, as they are in the sanitizer pass: the aio pass runs them in
# full, and what differs here (the ring's teardown on termination, the
# engine behind the fuzzed calls) shows in fewer rounds.
export LINUX_AIO_WORKER_ROUNDS="${LINUX_AIO_WORKER_ROUNDS:-20}"
export LINUX_AIO_FUZZ_RUNS="${LINUX_AIO_FUZZ_RUNS:-500}"
# Suites of one engine alone: they name theirs, and ran in the first pass.
declare -A single=(
  [file-nowait-fallback]="the RWF_NOWAIT retry on the thread pool is Linux AIO's (io_uring never sleeps in io_uring_enter)"
)
files=()
for f in dist/test/file-*.test.js; do
  name="$(basename "$f" .test.js)"
  if [[ -n "${single[$name]:-}" ]]; then
    echo "test:uring: not run again: $name: ${single[$name]}"
  else
    files+=("$f")
  fi
done
for f in torture-model fuzz-boundary faults gc-inflight gc-lifetime exit-paths worker worker-terminate \
         partial-write large-requests; do
  if [[ -f "dist/test/$f.test.js" ]]; then files+=("dist/test/$f.test.js"); fi
done
echo "test:uring: ${#files[@]} test files with LINUX_AIO_ENGINE=uring"
node --test --test-concurrency=1 "${files[@]}"
