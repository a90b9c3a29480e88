/** Dense float tensors in row-major order: the one value type every op, pass and quantizer reads and writes. The lowest package: it depends on nothing of qspark. */
package io.qspark.kernels.tensor;
