package io.qspark.kernels.train;

import io.qspark.kernels.quant.FixPoint;

/**
 * One layer's float weights and bias as the optimizer holds them, with the fix_points they are
 * fake-quantized to in the forward pass; what the driver sends the shards each step.
 *
 * @param bias null when the layer has none
 * @param weightQuant null: the weights are the values the layer computes with, already on or
 *     between the grid points (AdaRound's soft-rounded weights), not fake-quantized again
 */
public record LayerWeights(float[] weight, float[] bias, FixPoint weightQuant, FixPoint biasQuant)
    implements java.io.Serializable {}
