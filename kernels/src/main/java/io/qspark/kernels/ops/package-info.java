/**
 * The float operators, one class per ONNX op type, registered in {@link io.qspark.kernels.ops.OpRegistry}.
 * A plain reference loop and its fast path (im2col + GEMM, direct SIMD convolution, SIMD batch
 * norm) live side by side and are tested against each other bit for bit. Invariant: every op
 * computes each image of a batch independently and in a fixed order, so results do not depend on
 * the batch, the thread count or the vector width. The DPU's average-pool divisor
 * ({@link io.qspark.kernels.ops.DpuAveragePool}) is here because the pooling ops apply it when the
 * fake-quant graph asks for it.
 */
package io.qspark.kernels.ops;
