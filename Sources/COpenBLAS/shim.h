#include <cblas.h>
/* Declared here because Debian's cblas.h hides them behind OpenBLAS-only macros in some versions. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* The core whose kernels the library runs (see HybridCPU/OpenBLASCore.swift). */
char *openblas_get_corename(void);
/* The cores this process may run on (its affinity mask: mpirun binds each rank to its own). */
int openblas_get_num_procs(void);
/* LAPACK (in libopenblas): eigenvalues and eigenvectors of a symmetric matrix, column-major. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info);
