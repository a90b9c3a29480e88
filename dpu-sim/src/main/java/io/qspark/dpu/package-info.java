/**
 * The deploy model and the bit-exact integer DPU simulator. {@link io.qspark.dpu.DeployCompiler}
 * turns a calibrated fake-quant graph into a deploy model (integer weights, fix_points, shifts,
 * CPU layers for what the target cannot run); {@link io.qspark.dpu.DeployFormat} reads and writes
 * it (format described in this module's README); {@link io.qspark.dpu.Simulator} runs it with
 * reference integer kernels ({@link io.qspark.dpu.IntegerOps}) or their fast twins
 * ({@link io.qspark.dpu.FastIntegerOps}), tested against each other. Invariant: every output
 * integer equals the fake-quant model's, bit for bit.
 */
package io.qspark.dpu;
