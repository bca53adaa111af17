/* Module entry: per-environment state and the exported functions. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "uring.h"

static void state_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  addon_state *state = data;
  if (state->error_ctor) napi_delete_reference(env, state->error_ctor);
  free(state);
}

/* setErrorClass(AioError): the constructor native code uses for errno errors. */
static napi_value js_set_error_class(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  NAPI_CALL(env, napi_typeof(env, argv[0], &t));
  if (t != napi_function) return throw_type(env, "expected a constructor");
  addon_state *state = NULL;
  NAPI_CALL(env, napi_get_instance_data(env, (void **)&state));
  if (state->error_ctor) napi_delete_reference(env, state->error_ctor);
  NAPI_CALL(env, napi_create_reference(env, argv[0], 1, &state->error_ctor));
  return NULL;
}

static napi_value js_live_contexts(napi_env env, napi_callback_info info) {
  (void)info;
  addon_state *state = NULL;
  NAPI_CALL(env, napi_get_instance_data(env, (void **)&state));
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, state->live_contexts, &out));
  return out;
}

static napi_status register_state_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "setErrorClass", js_set_error_class);
  EXPORT_FN(env, exports, "liveContexts", js_live_contexts);
  return napi_ok;
}

static napi_value init(napi_env env, napi_value exports) {
  addon_state *state = calloc(1, sizeof(*state));
  if (!state) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  const char *reap = getenv("LINUX_AIO_REAP");
  state->force_syscall_reap = reap && strcmp(reap, "syscall") == 0;
  if (napi_set_instance_data(env, state, state_finalize, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, NULL, "cannot set instance data");
    return NULL;
  }
  if (register_context_functions(env, exports) != napi_ok ||
      register_eventfd_functions(env, exports) != napi_ok ||
      register_memory_functions(env, exports) != napi_ok ||
      register_file_functions(env, exports) != napi_ok ||
      register_uring_functions(env, exports) != napi_ok ||
      register_uring_fixed_functions(env, exports) != napi_ok ||
      register_uring_files_functions(env, exports) != napi_ok ||
      register_state_functions(env, exports) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
