/* Raw Linux AIO syscalls and the layout of the kernel's completion ring.
 * We call the syscalls directly so that users need no libaio package. */
#ifndef LINUX_AIO_SYS_H
#define LINUX_AIO_SYS_H

#include <linux/aio_abi.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline int sys_io_setup(unsigned nr, aio_context_t *ctx) {
  return (int)syscall(SYS_io_setup, nr, ctx);
}
static inline int sys_io_destroy(aio_context_t ctx) {
  return (int)syscall(SYS_io_destroy, ctx);
}
static inline int sys_io_submit(aio_context_t ctx, long nr, struct iocb **iocbs) {
  return (int)syscall(SYS_io_submit, ctx, nr, iocbs);
}
static inline int sys_io_getevents(aio_context_t ctx, long min_nr, long nr,
                                   struct io_event *events, struct timespec *timeout) {
  return (int)syscall(SYS_io_getevents, ctx, min_nr, nr, events, timeout);
}
static inline int sys_io_cancel(aio_context_t ctx, struct iocb *iocb, struct io_event *result) {
  return (int)syscall(SYS_io_cancel, ctx, iocb, result);
}

/* The context id returned by io_setup is the user address of this header,
 * followed by `nr` io_events (fs/aio.c). Not in the uapi headers, so we
 * describe it here; `magic` and `incompat_features` tell us whether this
 * layout is still the one the kernel uses. */
#define AIO_RING_MAGIC 0xa10a10a1u
#define AIO_RING_INCOMPAT_FEATURES 0u

struct aio_ring {
  unsigned id;
  unsigned nr;
  unsigned head;
  unsigned tail;
  unsigned magic;
  unsigned compat_features;
  unsigned incompat_features;
  unsigned header_length;
  struct io_event io_events[];
};

#endif
