/* Addresses of JavaScript memory, for alignment. allocAligned() itself is
 * written in TypeScript: it over-allocates an ArrayBuffer inside V8's heap
 * and returns an aligned view. That memory is owned and freed by V8 like any
 * Buffer, stays valid for as long as JavaScript can reach it (V8 never moves
 * ArrayBuffer backing stores), and works where external buffers are
 * forbidden (Electron's V8 sandbox). posix_memalign with an external buffer
 * would need a finalizer per buffer and fails under that sandbox. */
#include <stdint.h>

#include "addon.h"

bool view_data(napi_env env, napi_value v, void **data, size_t *len, napi_value *arraybuffer) {
  bool is_view = false;
  size_t offset;
  if (napi_is_typedarray(env, v, &is_view) == napi_ok && is_view) {
    napi_typedarray_type type;
    size_t length;
    if (napi_get_typedarray_info(env, v, &type, &length, data, arraybuffer, &offset) != napi_ok) return false;
    static const size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    *len = length * ((size_t)type < sizeof(sizes) / sizeof(sizes[0]) ? sizes[type] : 1);
    return true;
  }
  return napi_is_dataview(env, v, &is_view) == napi_ok && is_view &&
         napi_get_dataview_info(env, v, len, data, arraybuffer, &offset) == napi_ok;
}

/* addressMod(view, modulus) -> (address of the view's first byte) % modulus */
static napi_value js_address_mod(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t len;
  napi_value ab;
  if (!view_data(env, argv[0], &data, &len, &ab)) return throw_type(env, "expected a TypedArray, Buffer or DataView");
  uint32_t modulus;
  if (!get_uint32_arg(env, argv[1], &modulus, "modulus must be a positive integer")) return NULL;
  if (modulus == 0) return throw_range(env, "modulus must be a positive integer");
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)((uintptr_t)data % modulus), &out));
  return out;
}

napi_status register_memory_functions(napi_env env, napi_value exports) {
  EXPORT_FN(env, exports, "addressMod", js_address_mod);
  return napi_ok;
}
