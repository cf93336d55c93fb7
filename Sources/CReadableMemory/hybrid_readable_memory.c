#define _GNU_SOURCE
#include "hybrid_readable_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int hybrid_copy_readable(void *dst, const void *src, size_t n) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return 0;
    int ok = 1;
    /* PIPE_BUF-sized writes are atomic and fit the pipe, so each is read back whole. */
    for (size_t done = 0; ok && done < n;) {
        size_t chunk = n - done < 4096 ? n - done : 4096;
        ssize_t written;
        do { written = write(fds[1], (const char *)src + done, chunk); } while (written < 0 && errno == EINTR);
        if (written != (ssize_t)chunk) { ok = 0; break; }
        for (size_t got = 0; got < chunk;) {
            ssize_t r = read(fds[0], (char *)dst + done + got, chunk - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) { ok = 0; break; }
            got += (size_t)r;
        }
        done += chunk;
    }
    close(fds[0]);
    close(fds[1]);
    return ok;
}
