/** Readers of raw dataset formats that need no Spark (the IDX files of MNIST and Fashion-MNIST). */
package io.qspark.kernels.data;
