package io.qspark.kernels.train;

import io.qspark.kernels.quant.FixPoint;

/**
 * One layer's float weights and bias as the optimizer holds them, with the fix_points they are
 * fake-quantized to in the forward pass; what the driver sends the shards each step.
 *
 * @param bias null when the layer has none
 */
public record LayerWeights(float[] weight, float[] bias, FixPoint weightQuant, FixPoint biasQuant)
    implements java.io.Serializable {}
