import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
/** A full, forced garbage collection, whether or not node ran with --expose-gc. */
export const forceGC: () => void = vm.runInNewContext('gc') as () => void;
