#!/usr/bin/env bash
# The sanitizer run: builds the addon with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (build/Release is left alone),
# then runs the tests under it, with libasan preloaded into node and the
# addon chosen through LINUX_AIO_ADDON. Child processes and worker threads
# inherit both. Any sanitizer report fails the run.
#
#   bash test/asan/run.sh           all of dist/test/*.test.js (after npm run build)
#   bash test/asan/run.sh --short   the native-facing tests, with the long ones shortened (for CI)
set -euo pipefail
cd "$(dirname "$0")/../.."

short=0
if [[ "${1:-}" == "--short" ]]; then short=1; fi

out=build-asan
mkdir -p "$out"
node_inc=""
for d in "$(dirname "$(dirname "$(command -v node)")")/include/node" \
         "${HOME:-/root}/.cache/node-gyp/$(node -p process.versions.node)/include/node" \
         /usr/include/node; do
  if [[ -f "$d/node_api.h" && -f "$d/uv.h" ]]; then node_inc="$d"; break; fi
done
if [[ -z "$node_inc" ]]; then
  echo "test:asan: no Node headers (node_api.h, uv.h) found; run npm install (node-gyp fetches them)" >&2
  exit 1
fi
cc="${CC:-gcc}"
libasan="$("$cc" -print-file-name=libasan.so)"
if [[ ! -f "$libasan" ]]; then
  echo "test:asan: $cc has no libasan.so (install gcc's sanitizer runtime: apt-get install gcc)" >&2
  exit 1
fi

echo "test:asan: building $out/linux_aio.node with -fsanitize=address,undefined (headers: $node_inc)"
"$cc" -shared -fPIC -std=gnu11 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror \
  -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=linux_aio -DBUILDING_NODE_EXTENSION \
  -I"$node_inc" native/*.c -o "$out/linux_aio.node"

rm -f "$out"/asan.log.* "$out"/ubsan.log.*
export LD_PRELOAD="$libasan"
# V8 keeps memory until exit by design: no leak report. Huge allocations
# that JavaScript expects to fail (RangeError) return NULL as without ASan.
# Errors go to files,
# so none can hide in a child's swallowed stderr.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:exitcode=86:quarantine_size_mb=64:log_path=$PWD/$out/asan.log"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$out/ubsan.log"
export LINUX_AIO_ADDON="$PWD/$out/linux_aio.node"

# The sanitizer is really in: libasan mapped, the instrumented addon loaded.
node --input-type=module -e "
  import fs from 'node:fs';
  const { IoQueue } = await import('./dist/src/index.js');
  IoQueue.default();
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  if (!maps.includes('libasan')) { console.error('libasan is not mapped'); process.exit(1); }
  if (!maps.includes(process.env.LINUX_AIO_ADDON)) { console.error('the sanitizer build of the addon is not loaded'); process.exit(1); }
  console.log('test:asan: libasan and ' + process.env.LINUX_AIO_ADDON + ' are loaded');
"

if [[ $short == 1 ]]; then
  export LINUX_AIO_TORTURE_OPS=20000 LINUX_AIO_WORKER_ROUNDS=10 LINUX_AIO_FUZZ_RUNS=500
  files=()
  for f in context-batch vectored-sync-poll getevents wait-events reap-paths errors bad-arguments \
           gc-inflight gc-lifetime exit-paths worker worker-terminate torture-model fuzz-boundary \
           file-model file-abort file-close file-eof uring-core eventfd-check error-messages; do
    if [[ -f "dist/test/$f.test.js" ]]; then files+=("dist/test/$f.test.js"); fi
  done
else
  files=(dist/test/*.test.js)
fi

echo "test:asan: ${#files[@]} test files"
status=0
node --test --test-concurrency=1 "${files[@]}" || status=$?

shopt -s nullglob
logs=("$out"/asan.log.* "$out"/ubsan.log.*)
reports=()
for l in "${logs[@]}"; do
  # allocator_may_return_null logs a warning for each refused huge allocation: not a finding.
  if grep -qvE '^==[0-9]+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$' "$l"; then reports+=("$l"); fi
done
if (( ${#reports[@]} > 0 )); then
  echo "test:asan: FAIL: sanitizer reports:" >&2
  for l in "${reports[@]}"; do echo "== $l" >&2; cat "$l" >&2; done
  exit 1
fi
if (( status != 0 )); then
  echo "test:asan: FAIL: tests failed (exit $status), no sanitizer report" >&2
  exit "$status"
fi
echo "test:asan: clean: no AddressSanitizer or UndefinedBehaviorSanitizer report"
