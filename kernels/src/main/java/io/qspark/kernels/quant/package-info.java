/**
 * Post-training quantization: where the quantization points are ({@link io.qspark.kernels.quant.QuantPlan}),
 * mergeable statistics (fixed-bin {@link io.qspark.kernels.quant.Histogram}s, exact sums) whose
 * merge is exact however the data was partitioned, the fix_point search, fake-quant (the DPU's
 * rounding and saturation), bias correction, quant_info.json and the QDQ ONNX export.
 * Invariant: decisions are pure functions of the merged statistics, the graph and the config.
 */
package io.qspark.kernels.quant;
