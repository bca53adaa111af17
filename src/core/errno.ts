/**
 * The errno numbers the library raises or checks by name (Node's table of
 * the platform's values), so that no error is built from a bare number.
 * @internal
 * @module
 */
import os from 'node:os';

export const { EAGAIN, EBADF, EBUSY, EINPROGRESS, EINVAL, EOPNOTSUPP } = os.constants.errno;
