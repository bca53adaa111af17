/* The io_uring context as JavaScript sees it: uringSetup, uringSubmit,
 * uringReap, uringCancel and uringProbe. It shares the Linux AIO context's
 * struct, rows, completion watcher (which polls the ring fd itself),
 * destroy and arm, so the two engines differ only in how a batch reaches
 * the kernel and how completions come back.
 *
 * Lifetimes: a slot is busy from the io_uring_enter that takes it until its
 * CQE is reaped, and JavaScript pins the slot's buffers for as long; the
 * ring is unmapped only after every request in the kernel has completed
 * (uring_drain_and_close), whether at destroy, at garbage collection or at
 * environment teardown (process exit, worker termination). A ring that
 * refuses that wait is marked undrained: its buffers are then never let go
 * of (the registered ones here, the rest by JavaScript, told by destroy). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "uring.h"

#define URING_MAX_ENTRIES 32768 /* the kernel's IORING_MAX_ENTRIES */

static const char *setup_hint(int err) {
  switch (err) {
    case EPERM:
      return "io_uring is not allowed here: kernel.io_uring_disabled is set, or a seccomp filter "
             "(a container's) refuses it";
    case ENOSYS:
      return "this kernel has no io_uring (CONFIG_IO_URING), a seccomp filter hides it, or it lacks "
             "features the engine needs (Linux 5.11 or later)";
    case ENOMEM:
      return "the rings could not be locked in memory: raise RLIMIT_MEMLOCK (ulimit -l) on kernels "
             "before 5.12, or ask for fewer entries";
    case EMFILE:
    case ENFILE:
      return "no file descriptor left for the ring";
    default:
      return NULL;
  }
}

/* A mapped ring with every opcode the engine needs. */
static int open_checked(uring *u, uint32_t entries, const char **syscall_name, const char **missing) {
  int err = uring_open(u, entries, syscall_name);
  if (err) return err;
  *syscall_name = "io_uring_register";
  err = uring_check_ops(u->fd, missing);
  if (!err && *missing) err = ENOSYS;
  if (err) uring_unmap(u);
  return err;
}

static napi_value throw_setup(napi_env env, int err, const char *syscall_name, const char *missing) {
  char hint[160];
  if (missing) {
    snprintf(hint, sizeof(hint), "this kernel's io_uring lacks %s, which the engine needs", missing);
    return throw_errno(env, err, syscall_name, hint);
  }
  return throw_errno(env, err, syscall_name, setup_hint(err));
}

void uring_free(uring *u) {
  if (!u) return;
  uring_drain_and_close(u);
  uring_free_files(u);
  free(u->gen);
  free(u->busy);
  free(u);
}

/* uringSetup(entries, notify) -> { handle, capacity, cmd, events, ringReap: true, features } */
static napi_value js_uring_setup(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t entries;
  if (!get_uint32_arg(env, argv[0], &entries, "entries must be an integer from 1 to 32768")) return NULL;
  if (entries < 1 || entries > URING_MAX_ENTRIES) return throw_range(env, "entries must be an integer from 1 to 32768");
  napi_valuetype fn_type;
  NAPI_CALL(env, napi_typeof(env, argv[1], &fn_type));
  if (fn_type != napi_function) return throw_type(env, "notify must be a function");
  addon_state *state = NULL;
  NAPI_CALL(env, napi_get_instance_data(env, (void **)&state));

  uring *u = calloc(1, sizeof(*u));
  if (!u) return throw_errno(env, ENOMEM, "io_uring_setup", NULL);
  const char *syscall_name, *missing = NULL;
  int err = open_checked(u, entries, &syscall_name, &missing);
  if (err) {
    free(u);
    return throw_setup(env, err, syscall_name, missing);
  }
  u->slots = u->sq_entries;
  u->gen = calloc(u->slots, sizeof(*u->gen));
  u->busy = calloc(u->slots, sizeof(*u->busy));
  aio_ctx *ctx = calloc(1, sizeof(*ctx));
  if (ctx) ctx->iocbs = calloc(u->slots, sizeof(struct iocb));
  if (!u->gen || !u->busy || !ctx || !ctx->iocbs) {
    if (ctx) free(ctx->iocbs);
    free(ctx);
    uring_free(u);
    return throw_errno(env, ENOMEM, "io_uring_setup", NULL);
  }
  ctx->uring = u;
  ctx->env = env;
  ctx->state = state;
  ctx->eventfd = ctx->watch_fd = -1;
  ctx->refs = 1; /* the JS handle; the poll handle takes another in watch_init */
  ctx->capacity = u->slots;
  napi_value result = ctx_expose(env, ctx, argv[1]);
  if (!result) return NULL;
  napi_value v;
  NAPI_CALL(env, napi_create_uint32(env, u->features, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "features", v));
  NAPI_CALL(env, napi_get_boolean(env, true, &v));
  NAPI_CALL(env, napi_set_named_property(env, result, "ringReap", v));
  return result;
}

static void sq_publish(uring *u, uint32_t tail) { __atomic_store_n(u->sq_tail, tail, __ATOMIC_RELEASE); }

/* io_uring_enter for `n` new SQEs; the count the kernel took, or -errno.
 * What it did not take is taken back out of the SQ ring: without SQPOLL the
 * kernel reads the ring only inside io_uring_enter, so the tail is ours to
 * move back, and the next batch starts on an empty ring. */
static int enter_submit(uring *u, uint32_t tail, uint32_t n) {
  sq_publish(u, tail + n);
  int ret;
  do {
    ret = sys_io_uring_enter(u->fd, n, 0, 0, NULL, 0);
  } while (ret < 0 && errno == EINTR);
  int taken = ret < 0 ? 0 : ret;
  if ((uint32_t)taken < n) sq_publish(u, tail + (uint32_t)taken);
  return ret < 0 ? -errno : taken;
}

enum { SLOT_FREE = 0, SLOT_IN_KERNEL = 1, SLOT_STAGED = 2 };

/* Row i into the SQE at tail + i. Returns the row's slot, or -1 with an
 * exception pending. */
static int64_t fill_row(napi_env env, const submit_call *call, uint32_t i, uint32_t tail, size_t *iov_used) {
  aio_ctx *ctx = call->ctx;
  uring *u = ctx->uring;
  const double *row = ctx->cmd + (size_t)i * CMD_STRIDE;
  if (!whole_in_range(row[CMD_SLOT], 0, (double)u->slots - 1)) {
    throw_range(env, "request slot out of range");
    return -1;
  }
  uint32_t slot = (uint32_t)row[CMD_SLOT];
  if (u->busy[slot] != SLOT_FREE) {
    throw_range(env, "request slot already in flight");
    return -1;
  }
  uint32_t gen = (u->gen[slot] + 1) & URING_GEN_MASK;
  uint64_t user_data = (uint64_t)gen << 32 | slot;
  struct io_uring_sqe *sqe = &u->sqes[(tail + i) & u->sq_mask];
  if (row[CMD_OPCODE] == URING_ROW_FALLOCATE) {
    if (!uring_sqe_fallocate(env, sqe, row, user_data)) return -1;
  } else {
    if (!fill_iocb(env, call, i, iov_used)) return -1;
    uring_sqe_from_iocb(sqe, &ctx->iocbs[slot], user_data);
    if (u->nregions > 0) uring_sqe_use_fixed(env, u, sqe);
  }
  const double fixed_file = row[CMD_FIXED_FILE];
  if (fixed_file != -1 && !uring_sqe_use_file(env, u, sqe, fixed_file)) return -1;
  u->gen[slot] = gen;
  u->busy[slot] = SLOT_STAGED;
  return slot;
}

static bool is_fixed(const struct io_uring_sqe *sqe) {
  return sqe->opcode == IORING_OP_READ_FIXED || sqe->opcode == IORING_OP_WRITE_FIXED;
}

/* The rows the kernel took are in it; the rest are free again. */
static void settle_rows(aio_ctx *ctx, uint32_t tail, uint32_t count, uint32_t taken) {
  uring *u = ctx->uring;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t slot = (uint32_t)ctx->cmd[(size_t)i * CMD_STRIDE + CMD_SLOT];
    u->busy[slot] = i < taken ? SLOT_IN_KERNEL : SLOT_FREE;
    if (i >= taken || (u->nregions == 0 && !u->file_table)) continue;
    const struct io_uring_sqe *sqe = &u->sqes[(tail + i) & u->sq_mask];
    if (is_fixed(sqe)) ctx->status[STATUS_FIXED]++;
    if (sqe->flags & IOSQE_FIXED_FILE) ctx->status[STATUS_FIXED_FILES]++;
  }
}

/* uringSubmit(handle, count, bufs, reapInline, ...buffers) -> how many requests the
 * kernel took, in one io_uring_enter. A row whose arguments are refused
 * throws before any syscall, with `row` set on the error. reapInline is
 * as for submit (context.c). */
static napi_value js_uring_submit(napi_env env, napi_callback_info info) {
  submit_call call;
  if (!submit_call_args(env, info, true, &call)) return NULL;
  aio_ctx *ctx = call.ctx;
  uring *u = ctx->uring;
  const uint32_t count = call.count;
  const uint32_t tail = *u->sq_tail; /* only we write it, and the ring is empty */
  size_t iov_used = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (fill_row(env, &call, i, tail, &iov_used) < 0) {
      settle_rows(ctx, tail, i, 0);
      return name_bad_row(env, i);
    }
  }
  int ret = count == 0 ? 0 : enter_submit(u, tail, count);
  uint32_t taken = ret < 0 ? 0 : (uint32_t)ret;
  settle_rows(ctx, tail, count, taken);
  u->in_flight += taken;
  ctx->in_flight = u->in_flight;
  if (ret < 0) {
    /* EBUSY: completions wait in the kernel's overflow list; reap first. */
    int err = -ret == EBUSY ? EAGAIN : -ret;
    return throw_errno(env, err, "io_uring_enter",
                       err == EAGAIN ? "the completion queue is full: reap completions first" : NULL);
  }
  /* What finished inside the enter (the page cache, tmpfs, a NOP) is
   * delivered in this turn, as on the aio engine. */
  if (call.reap_inline && taken > 0) {
    ctx->status[STATUS_INLINE_REAPED] = uring_reap(u, ctx->events, ctx->capacity);
    ctx->in_flight = u->in_flight;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, taken, &out));
  return out;
}

/* uringReap(handle, minNr, nr, timeoutMs) -> count; rows written to
 * `events`. timeoutMs < 0 waits without limit; minNr = 0 never waits. */
static napi_value js_uring_reap(napi_env env, napi_callback_info info) {
  reap_call call;
  if (!reap_call_args(env, info, true, &call)) return NULL;
  aio_ctx *ctx = call.ctx;
  uring *u = ctx->uring;
  const uint32_t min_nr = call.min_nr, nr = call.nr;
  const double timeout_ms = call.timeout_ms;
  double deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
  uint32_t n = uring_reap(u, ctx->events, nr);
  int err = 0;
  /* The ring's own CQEs count towards the kernel's wait but are not
   * delivered, so a wait may end with fewer than asked: wait again. */
  while (n < min_nr && !err) {
    double left = timeout_ms >= 0 ? deadline - now_ms() : -1;
    err = uring_wait(u, min_nr - n, timeout_ms >= 0 && left < 0 ? 0 : left);
    n += uring_reap(u, ctx->events + (size_t)n * EVT_STRIDE, nr - n);
    if (timeout_ms >= 0 && now_ms() >= deadline) break;
  }
  ctx->in_flight = u->in_flight;
  /* Completions already taken from the ring must not be lost: deliver
   * them, and the next call reports the error. A timeout is no error. */
  if (err && err != ETIME && n == 0) return throw_errno(env, err, "io_uring_enter", NULL);
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, n, &out));
  return out;
}

/* One SQE of the ring's own, submitted now; 0 or a positive errno. */
static int submit_internal_cancel(uring *u, uint64_t target, uint32_t flags) {
  const uint32_t tail = *u->sq_tail;
  uring_sqe_cancel(&u->sqes[tail & u->sq_mask], target, flags);
  int ret = enter_submit(u, tail, 1);
  if (ret < 0) return -ret;
  if (ret == 0) return EAGAIN;
  u->internal++;
  return 0;
}

/* uringCancel(handle, slot) -> 0 when the kernel was asked to cancel the
 * slot's request (it then completes, with -ECANCELED if the cancel won),
 * ENOENT when the slot has nothing in the kernel, or another errno. */
static napi_value js_uring_cancel(napi_env env, napi_callback_info info) {
  uint32_t slot;
  aio_ctx *ctx = slot_call_args(env, info, true, &slot);
  if (!ctx) return NULL;
  uring *u = ctx->uring;
  int err = ENOENT;
  if (u->busy[slot] == SLOT_IN_KERNEL) err = submit_internal_cancel(u, (uint64_t)u->gen[slot] << 32 | slot, 0);
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, err, &out));
  return out;
}

/* Waits for every request in the kernel, the ring's own included, then
 * unmaps the rings and closes the ring fd: closing it earlier would let
 * the kernel finish writing into buffers JavaScript may already have
 * freed. What can still be cancelled is cancelled first (5.19), so that
 * teardown does not wait for requests queued behind slow ones. */
void uring_drain_and_close(uring *u) {
  if (u->closed) return;
  u->closed = true;
  if (u->in_flight > 0) submit_internal_cancel(u, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  double discard[64 * EVT_STRIDE];
  while (u->in_flight + u->internal > 0) {
    if (uring_reap(u, discard, 64) > 0) continue;
    if (u->in_flight + u->internal == 0) break;
    int err = uring_wait(u, 1, -1);
    if (err && err != EINTR && err != EAGAIN && err != EBUSY) {
      u->undrained = true; /* the ring is unusable: see uring_release_regions and js_destroy */
      break;
    }
  }
  uring_unmap(u);
}

static void set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}

/* uringProbe() -> { errno, syscall, hint, features, missing }: whether this
 * process may use the engine here (errno 0), and if not, why. Costs one
 * small ring, closed at once. */
static napi_value js_uring_probe(napi_env env, napi_callback_info info) {
  (void)info;
  uring u;
  memset(&u, 0, sizeof(u));
  const char *syscall_name = NULL, *missing = NULL;
  int err = open_checked(&u, 4, &syscall_name, &missing);
  uint32_t features = u.features;
  if (!err) uring_unmap(&u);
  napi_value out, v;
  NAPI_CALL(env, napi_create_object(env, &out));
  NAPI_CALL(env, napi_create_int32(env, err, &v));
  set_prop(env, out, "errno", v);
  NAPI_CALL(env, napi_create_uint32(env, features, &v));
  set_prop(env, out, "features", v);
  if (err) {
    NAPI_CALL(env, napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &v));
    set_prop(env, out, "syscall", v);
    const char *hint = missing ? missing : setup_hint(err);
    if (hint) {
      NAPI_CALL(env, napi_create_string_utf8(env, hint, NAPI_AUTO_LENGTH, &v));
      set_prop(env, out, missing ? "missing" : "hint", v);
    }
  }
  return out;
}

napi_status register_uring_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "uringSetup", js_uring_setup);
  EXPORT_FN(env, exports, "uringSubmit", js_uring_submit);
  EXPORT_FN(env, exports, "uringReap", js_uring_reap);
  EXPORT_FN(env, exports, "uringCancel", js_uring_cancel);
  EXPORT_FN(env, exports, "uringProbe", js_uring_probe);
  return napi_ok;
}
