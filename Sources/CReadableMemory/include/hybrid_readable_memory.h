#ifndef HYBRID_READABLE_MEMORY_H
#define HYBRID_READABLE_MEMORY_H

#include <stddef.h>

/* Copies n bytes of this process's memory at src into dst without faulting: the kernel reads
 * src (through a pipe), so an address outside readable memory is an error, not a signal.
 * Returns 1 when all n bytes were read, 0 when any could not be. For the host's checks of what
 * a plugin's descriptor points at, before it trusts a pointer. */
int hybrid_copy_readable(void *dst, const void *src, size_t n);

#endif
