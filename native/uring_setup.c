/* Creating an io_uring instance and mapping its rings: the SQ ring (head,
 * tail, mask, flags and the index array), the CQ ring (head, tail, mask,
 * overflow count and the CQEs) and the SQE array. The kernel tells us every
 * offset in io_uring_params; since Linux 5.4 (IORING_FEAT_SINGLE_MMAP) both
 * rings share one mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uring.h"

static void *map_ring(int fd, size_t len, off_t what) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, what);
  return p == MAP_FAILED ? NULL : p;
}

static uint32_t *at(void *base, uint32_t offset) { return (uint32_t *)((char *)base + offset); }

/* SUBMIT_ALL (5.18) keeps a batch going past a request that fails to
 * prepare (that one completes with its error); CLAMP caps a large entry
 * count instead of refusing it. COOP_TASKRUN (5.19) posts a completion
 * that another context finished (an io-wq worker, a device interrupt)
 * without an IPI to our thread: the task work runs at our next syscall, or
 * wakes us if we sleep (in epoll). Without it every completion of a
 * request the kernel punted interrupts the event loop: on tmpfs at depth
 * 32 that cost two thirds of the throughput (measured 150k against 480k
 * reads per second). TASKRUN_FLAG marks such pending work in the SQ ring,
 * so that a reap that makes no syscall knows to make one (uring_reap.c).
 * SINGLE_ISSUER (6.0) lets the kernel skip locking that several submitting
 * threads would need: a ring is created, fed, reaped and torn down by its
 * environment's one thread (a worker's ring by that worker, its teardown
 * hook included). Older kernels refuse unknown flags with EINVAL, so we
 * retry with fewer. */
static int setup_with_fallback(uint32_t entries, struct io_uring_params *p) {
  static const uint32_t coop = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  static const uint32_t tries[] = {IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | coop | IORING_SETUP_SINGLE_ISSUER,
                                   IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP | coop,
                                   IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP, IORING_SETUP_CLAMP};
  int fd = -1;
  for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
    memset(p, 0, sizeof(*p));
    p->flags = tries[i];
    fd = sys_io_uring_setup(entries, p);
    if (fd >= 0 || errno != EINVAL) break;
  }
  return fd;
}

int uring_open(uring *u, uint32_t entries, const char **failed_syscall) {
  struct io_uring_params p;
  u->fd = -1;
  *failed_syscall = "io_uring_setup";
  int fd = setup_with_fallback(entries, &p);
  if (fd < 0) return errno;
  u->fd = fd;
  u->features = p.features;
  u->setup_flags = p.flags;
  if ((p.features & URING_NEEDED_FEATURES) != URING_NEEDED_FEATURES) {
    uring_unmap(u);
    return ENOSYS;
  }
  u->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  u->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (u->cq_map_len > u->sq_map_len) u->sq_map_len = u->cq_map_len;
    u->cq_map_len = u->sq_map_len;
  }
  *failed_syscall = "mmap";
  u->sq_map = map_ring(fd, u->sq_map_len, IORING_OFF_SQ_RING);
  if (!u->sq_map) goto fail;
  u->cq_map = single ? u->sq_map : map_ring(fd, u->cq_map_len, IORING_OFF_CQ_RING);
  if (!u->cq_map) goto fail;
  u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  u->sqes = map_ring(fd, u->sqes_len, IORING_OFF_SQES);
  if (!u->sqes) goto fail;

  u->sq_head = at(u->sq_map, p.sq_off.head);
  u->sq_tail = at(u->sq_map, p.sq_off.tail);
  u->sq_flags = at(u->sq_map, p.sq_off.flags);
  u->sq_array = at(u->sq_map, p.sq_off.array);
  u->sq_mask = *at(u->sq_map, p.sq_off.ring_mask);
  u->sq_entries = *at(u->sq_map, p.sq_off.ring_entries);
  u->cq_head = at(u->cq_map, p.cq_off.head);
  u->cq_tail = at(u->cq_map, p.cq_off.tail);
  u->cq_overflow = at(u->cq_map, p.cq_off.overflow);
  u->cqes = (struct io_uring_cqe *)((char *)u->cq_map + p.cq_off.cqes);
  u->cq_mask = *at(u->cq_map, p.cq_off.ring_mask);
  u->cq_entries = *at(u->cq_map, p.cq_off.ring_entries);
  /* SQE i always sits in array slot i, so the index array is set once. */
  for (uint32_t i = 0; i < u->sq_entries; i++) u->sq_array[i] = i;
  return 0;

fail:;
  int err = errno;
  uring_unmap(u);
  return err;
}

void uring_unmap(uring *u) {
  if (u->sqes) munmap(u->sqes, u->sqes_len);
  if (u->cq_map && u->cq_map != u->sq_map) munmap(u->cq_map, u->cq_map_len);
  if (u->sq_map) munmap(u->sq_map, u->sq_map_len);
  u->sqes = NULL;
  u->cq_map = u->sq_map = NULL;
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
}

/* The opcodes behind the engine's operations. */
static const struct {
  uint8_t op;
  const char *name;
} needed_ops[] = {
    {IORING_OP_READ, "IORING_OP_READ"},         {IORING_OP_WRITE, "IORING_OP_WRITE"},
    {IORING_OP_READV, "IORING_OP_READV"},       {IORING_OP_WRITEV, "IORING_OP_WRITEV"},
    {IORING_OP_FSYNC, "IORING_OP_FSYNC"},       {IORING_OP_FALLOCATE, "IORING_OP_FALLOCATE"},
    {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"}, {IORING_OP_NOP, "IORING_OP_NOP"},
    {IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"},
};

int uring_check_ops(int fd, const char **missing) {
  const unsigned n = 256;
  *missing = NULL;
  struct io_uring_probe *probe = calloc(1, sizeof(*probe) + n * sizeof(struct io_uring_probe_op));
  if (!probe) return ENOMEM;
  if (sys_io_uring_register(fd, IORING_REGISTER_PROBE, probe, n) < 0) {
    int err = errno;
    free(probe);
    return err;
  }
  for (size_t i = 0; i < sizeof(needed_ops) / sizeof(needed_ops[0]) && !*missing; i++) {
    uint8_t op = needed_ops[i].op;
    if (op > probe->last_op || !(probe->ops[op].flags & IO_URING_OP_SUPPORTED)) *missing = needed_ops[i].name;
  }
  free(probe);
  return 0;
}
