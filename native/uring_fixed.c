/* Registered buffers (IORING_REGISTER_BUFFERS): memory the kernel pins and
 * maps once, so that a read or write inside it (IORING_OP_READ_FIXED,
 * WRITE_FIXED) skips the per-request page lookup and pinning.
 *
 * Safety: the kernel keeps the pages pinned for as long as the ring lives,
 * and a fixed request writes into those pages whatever JavaScript has done
 * with the memory since. So the ring holds a strong reference to each
 * region's ArrayBuffer until the ring is torn down (ctx_release, after
 * every request has completed), and a request becomes fixed only when its
 * whole range lies inside a region whose ArrayBuffer is still attached (a
 * transferred one no longer owns that memory: its requests go unregistered,
 * by address, as any other). JavaScript refuses resizable memory, whose
 * pages could change under the registration. */
#include <errno.h>
#include <stdlib.h>

#include "addon.h"
#include "uring.h"

/* The kernel's limits: UIO_MAXIOV regions of at most 1 GiB each. */
#define MAX_REGIONS 1024
#define MAX_REGION_BYTES (1UL << 30)

/* uringRegisterBuffers(handle, views) -> the number of regions; once per
 * ring, with nothing in flight. */
static napi_value js_uring_register_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  aio_ctx *ctx = engine_call_args(env, info, true, &argc, argv);
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok)
    return throw_type(env, "buffers must be an array of TypedArrays, Buffers or DataViews");
  if (n < 1 || n > MAX_REGIONS) return throw_range(env, "register from 1 to 1024 buffers");
  if (u->regions) return throw_errno(env, EBUSY, "io_uring_register", "this ring has registered buffers already");
  if (u->in_flight + u->internal > 0)
    return throw_errno(env, EBUSY, "io_uring_register", "register buffers while nothing is in flight on the queue");
  struct iovec *iov = calloc(n, sizeof(*iov));
  uring_region *regions = calloc(n, sizeof(*regions));
  if (!iov || !regions) {
    free(iov);
    free(regions);
    return throw_errno(env, ENOMEM, "io_uring_register", NULL);
  }
  bool failed = false; /* with an exception pending */
  for (uint32_t made = 0; made < n && !failed; made++) {
    napi_value v, ab;
    void *data = NULL;
    size_t len = 0;
    if (napi_get_element(env, argv[1], made, &v) != napi_ok) {
      napi_failed(env);
      failed = true;
    } else if (!view_data(env, v, &data, &len, &ab) || data == NULL || len == 0) {
      throw_type(env, "each buffer must be a non-empty TypedArray, Buffer or DataView, not detached");
      failed = true;
    } else if (len > MAX_REGION_BYTES) {
      throw_range(env, "each registered buffer is at most 1 GiB (the kernel's limit)");
      failed = true;
    }
    if (failed) break;
    iov[made].iov_base = data;
    iov[made].iov_len = len;
    regions[made].base = (uintptr_t)data;
    regions[made].len = len;
    if (napi_create_reference(env, ab, 1, &regions[made].arraybuffer) != napi_ok) {
      napi_failed(env);
      failed = true;
    }
  }
  if (!failed && sys_io_uring_register(u->fd, IORING_REGISTER_BUFFERS, iov, n) < 0) {
    int err = errno;
    throw_errno(env, err, "io_uring_register",
                err == ENOMEM ? "the buffers cannot be locked in memory: raise RLIMIT_MEMLOCK (ulimit -l)" : NULL);
    failed = true;
  }
  free(iov);
  if (failed) {
    for (uint32_t k = 0; k < n; k++)
      if (regions[k].arraybuffer) napi_delete_reference(env, regions[k].arraybuffer);
    free(regions);
    return NULL;
  }
  u->regions = regions;
  u->nregions = n;
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, n, &out));
  return out;
}

static bool attached(napi_env env, napi_ref ref) {
  napi_value ab;
  bool detached = true;
  return napi_get_reference_value(env, ref, &ab) == napi_ok && ab != NULL &&
         napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached;
}

void uring_sqe_use_fixed(napi_env env, uring *u, struct io_uring_sqe *sqe) {
  if (sqe->opcode != IORING_OP_READ && sqe->opcode != IORING_OP_WRITE) return;
  const uintptr_t start = (uintptr_t)sqe->addr;
  const size_t len = sqe->len;
  for (uint32_t k = 0; k < u->nregions; k++) {
    const uring_region *r = &u->regions[k];
    if (start < r->base || start - r->base > r->len || len > r->len - (start - r->base)) continue;
    if (!attached(env, r->arraybuffer)) return;
    sqe->opcode = sqe->opcode == IORING_OP_READ ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED;
    sqe->buf_index = (uint16_t)k;
    return;
  }
}

void uring_release_regions(napi_env env, uring *u) {
  /* Undrained, a READ_FIXED may still be in the kernel: it writes into the
   * registered memory whenever it completes (the ring's own teardown in the
   * kernel is asynchronous), so the ArrayBuffers are kept for good, leaked
   * rather than handed back to a collector that could reuse the memory. */
  if (!u || !u->regions || u->undrained) return;
  for (uint32_t k = 0; k < u->nregions; k++)
    if (u->regions[k].arraybuffer) napi_delete_reference(env, u->regions[k].arraybuffer);
  free(u->regions);
  u->regions = NULL;
  u->nregions = 0;
}

napi_status register_uring_fixed_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "uringRegisterBuffers", js_uring_register_buffers);
  return napi_ok;
}
