{
  "targets": [
    {
      "target_name": "linux_aio",
      "sources": [
        "native/addon.c",
        "native/context.c",
        "native/call_args.c",
        "native/ring_reap.c",
        "native/eventfd_watch.c",
        "native/file_facts.c",
        "native/memory.c",
        "native/errors.c",
        "native/uring_setup.c",
        "native/uring_sqe.c",
        "native/uring_reap.c",
        "native/uring_context.c",
        "native/uring_fixed.c",
        "native/uring_files.c"
      ],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
      "cflags!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
