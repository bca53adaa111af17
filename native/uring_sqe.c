/* Filling io_uring SQEs. A row is first checked and decoded into a Linux
 * AIO iocb by the same code the aio engine uses (context.c fill_iocb), so
 * both engines accept and refuse exactly the same rows; the iocb is then
 * translated here. Only fallocate, which Linux AIO lacks, has its own row. */
#include <linux/aio_abi.h>
#include <string.h>

#include "addon.h"
#include "uring.h"

/* The kernel moves at most this much in one read or write (MAX_RW_COUNT);
 * a longer buffer reads or writes short, as with pread(2). */
#define MAX_RW_BYTES 0x7ffff000u

static uint32_t rw_len(uint64_t nbytes) { return nbytes > MAX_RW_BYTES ? MAX_RW_BYTES : (uint32_t)nbytes; }

void uring_sqe_from_iocb(struct io_uring_sqe *sqe, const struct iocb *cb, uint64_t user_data) {
  memset(sqe, 0, sizeof(*sqe));
  sqe->fd = (int32_t)cb->aio_fildes;
  sqe->user_data = user_data;
  if (cb->aio_flags & IOCB_FLAG_IOPRIO) sqe->ioprio = (uint16_t)cb->aio_reqprio;
  switch (cb->aio_lio_opcode) {
    case IOCB_CMD_PREAD:
    case IOCB_CMD_PWRITE:
      sqe->opcode = cb->aio_lio_opcode == IOCB_CMD_PREAD ? IORING_OP_READ : IORING_OP_WRITE;
      sqe->off = (uint64_t)cb->aio_offset;
      sqe->addr = cb->aio_buf;
      sqe->len = rw_len(cb->aio_nbytes);
      sqe->rw_flags = cb->aio_rw_flags;
      break;
    case IOCB_CMD_PREADV:
    case IOCB_CMD_PWRITEV:
      /* The iovecs are read at submission (IORING_FEAT_SUBMIT_STABLE). */
      sqe->opcode = cb->aio_lio_opcode == IOCB_CMD_PREADV ? IORING_OP_READV : IORING_OP_WRITEV;
      sqe->off = (uint64_t)cb->aio_offset;
      sqe->addr = cb->aio_buf;
      sqe->len = (uint32_t)cb->aio_nbytes;
      sqe->rw_flags = cb->aio_rw_flags;
      break;
    case IOCB_CMD_FSYNC:
    case IOCB_CMD_FDSYNC:
      sqe->opcode = IORING_OP_FSYNC; /* off = len = 0: the whole file */
      sqe->fsync_flags = cb->aio_lio_opcode == IOCB_CMD_FDSYNC ? IORING_FSYNC_DATASYNC : 0;
      break;
    case IOCB_CMD_POLL:
      sqe->opcode = IORING_OP_POLL_ADD;
      sqe->poll32_events = (uint32_t)cb->aio_buf;
      break;
    default: /* IOCB_CMD_NOOP, which io_uring, unlike Linux AIO, carries out */
      sqe->opcode = IORING_OP_NOP;
      break;
  }
}

bool uring_sqe_fallocate(napi_env env, struct io_uring_sqe *sqe, const double *row, uint64_t user_data) {
  if (!whole_in_range(row[CMD_FD], 0, INT32_MAX)) {
    throw_range(env, "fd must be a non-negative 32-bit integer");
    return false;
  }
  if (!whole_in_range(row[CMD_OFFSET], 0, 9007199254740991.0) ||
      !whole_in_range(row[CMD_AUX], 1, 9007199254740991.0)) {
    throw_range(env, "fallocate offset and length must be safe integers, the length positive");
    return false;
  }
  if (!whole_in_range(row[CMD_RW_FLAGS], 0, INT32_MAX)) {
    throw_range(env, "fallocate mode out of range");
    return false;
  }
  memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = IORING_OP_FALLOCATE;
  sqe->fd = (int32_t)row[CMD_FD];
  sqe->off = (uint64_t)row[CMD_OFFSET];
  sqe->addr = (uint64_t)row[CMD_AUX]; /* the length */
  sqe->len = (uint32_t)row[CMD_RW_FLAGS]; /* the mode */
  sqe->user_data = user_data;
  return true;
}

void uring_sqe_cancel(struct io_uring_sqe *sqe, uint64_t target, uint32_t flags) {
  memset(sqe, 0, sizeof(*sqe));
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->cancel_flags = flags;
  sqe->user_data = URING_INTERNAL;
}
