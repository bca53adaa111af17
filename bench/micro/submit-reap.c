/* The floor for the micro-benchmark: the same submit + reap loop as
 * bench/micro/submit-reap.ts, written in C against the raw syscalls, with
 * the same user-space ring reap. Prints nanoseconds per request.
 *
 *   submit-reap <poll|read> <batch> <iterations> [file]
 *
 * poll: IOCB_CMD_POLL on an eventfd that is always readable, so each request
 * completes inside io_submit and the figure is pure per-request overhead.
 * read: 4 KiB O_DIRECT reads of <file>. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct ring {
  unsigned id, nr, head, tail, magic, compat, incompat, header;
  struct io_event ev[];
};

static long reap(aio_context_t ctx, struct io_event *out, long want) {
  struct ring *r = (struct ring *)ctx;
  long n = 0;
  unsigned head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
  while (head != tail && n < want) {
    out[n++] = r->ev[head];
    if (++head == r->nr) head = 0;
  }
  __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
  if (n < want) {
    long got = syscall(SYS_io_getevents, ctx, want - n, want - n, out + n, NULL);
    if (got < 0) { perror("io_getevents"); exit(1); }
    n += got;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s <poll|read> <batch> <iterations> [file]\n", argv[0]); return 2; }
  int is_read = strcmp(argv[1], "read") == 0;
  long batch = atol(argv[2]), iters = atol(argv[3]);
  int fd = is_read ? open(argv[4], O_RDONLY | O_DIRECT) : eventfd(1, EFD_NONBLOCK);
  if (fd < 0) { perror("open"); return 1; }
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, batch, &ctx) < 0) { perror("io_setup"); return 1; }
  struct iocb *cbs = calloc(batch, sizeof *cbs);
  struct iocb **ptrs = calloc(batch, sizeof *ptrs);
  struct io_event *evs = calloc(batch, sizeof *evs);
  char *buf = NULL;
  if (posix_memalign((void **)&buf, 4096, 4096 * batch)) return 1;
  long long sink = 0;
  struct timespec t0, t1;
  for (long pass = 0; pass < 2; pass++) { /* pass 0 warms up */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long it = 0; it < iters; it++) {
      for (long i = 0; i < batch; i++) {
        memset(&cbs[i], 0, sizeof cbs[i]);
        cbs[i].aio_data = i;
        cbs[i].aio_fildes = fd;
        if (is_read) {
          cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
          cbs[i].aio_buf = (uint64_t)(uintptr_t)(buf + 4096 * i);
          cbs[i].aio_nbytes = 4096;
          cbs[i].aio_offset = (int64_t)(((it * batch + i) * 7919) % 256) * 4096;
        } else {
          cbs[i].aio_lio_opcode = IOCB_CMD_POLL;
          cbs[i].aio_buf = POLLIN;
        }
        ptrs[i] = &cbs[i];
      }
      long done = 0;
      while (done < batch) {
        long s = syscall(SYS_io_submit, ctx, batch - done, ptrs + done);
        if (s < 0) { perror("io_submit"); return 1; }
        done += s;
      }
      long got = reap(ctx, evs, batch);
      for (long i = 0; i < got; i++) sink += evs[i].res;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
  }
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", ns / ((double)iters * batch));
  fprintf(stderr, "checksum %lld\n", sink);
  return 0;
}
