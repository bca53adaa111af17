/* The arguments of the calls both engines take alike: submit(handle,
 * count, bufs, reapInline), reap(handle, minNr, nr, timeoutMs) and
 * cancel(handle, slot), on Linux AIO (context.c) and on io_uring
 * (uring_context.c). They differ only in the kind of handle; one copy of
 * the checks keeps the two engines from drifting apart in what they take. */
#include "addon.h"

aio_ctx *unwrap_engine_ctx(napi_env env, napi_value handle, bool uring) {
  aio_ctx *ctx = unwrap_ctx(env, handle, false);
  if (ctx && (ctx->uring != NULL) != uring) {
    throw_type(env, uring ? "expected an io_uring context handle, got a Linux AIO one"
                          : "expected an IoContext handle, got an io_uring one");
    return NULL;
  }
  return ctx;
}

/* The call's arguments and the live context of the engine asked for. */
static aio_ctx *call_ctx(napi_env env, napi_callback_info info, bool uring, size_t *argc, napi_value *argv) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) {
    napi_failed(env);
    return NULL;
  }
  return unwrap_engine_ctx(env, argv[0], uring);
}

bool submit_call_args(napi_env env, napi_callback_info info, bool uring, submit_call *call) {
  size_t argc = 4;
  napi_value argv[4];
  call->ctx = call_ctx(env, info, uring, &argc, argv);
  if (!call->ctx) return false;
  call->ctx->status[STATUS_INLINE_REAPED] = 0;
  if (!get_submit_args(env, argv + 1, call->ctx, &call->count)) return false;
  call->bufs = argv[2];
  call->reap_inline = false;
  if (argc > 3) napi_get_value_bool(env, argv[3], &call->reap_inline);
  return true;
}

bool reap_call_args(napi_env env, napi_callback_info info, bool uring, reap_call *call) {
  size_t argc = 4;
  napi_value argv[4];
  call->ctx = call_ctx(env, info, uring, &argc, argv);
  return call->ctx && get_reap_args(env, argv + 1, call->ctx, &call->min_nr, &call->nr, &call->timeout_ms);
}

aio_ctx *slot_call_args(napi_env env, napi_callback_info info, bool uring, uint32_t *slot) {
  size_t argc = 2;
  napi_value argv[2];
  aio_ctx *ctx = call_ctx(env, info, uring, &argc, argv);
  if (!ctx || !get_uint32_arg(env, argv[1], slot, "slot must be an integer")) return NULL;
  if (*slot >= ctx->capacity) {
    throw_range(env, "slot out of range");
    return NULL;
  }
  return ctx;
}
