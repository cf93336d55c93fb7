#include <cblas.h>
/* Declared here because Debian's cblas.h hides them behind OpenBLAS-only macros in some versions. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
