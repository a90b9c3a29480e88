/**
 * Gradients and what uses them: backward kernels per op ({@link io.qspark.kernels.train.GradRegistry}),
 * reverse-mode differentiation with the straight-through estimator, layer-wise fine-tuning
 * (AdaQuant) over cached shards, and QAT's worker and trainer steps with optimizers and
 * checkpointable state, for any number of inputs and outputs, under a pluggable loss
 * ({@link io.qspark.kernels.train.QatLoss}: cross-entropy, distillation from the float model).
 * Gradient sums are ordered, so a step's result does not depend on the partitioning or the
 * thread count.
 */
package io.qspark.kernels.train;
