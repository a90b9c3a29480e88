package io.qspark.kernels.train;

import java.util.List;
import java.util.Map;

/**
 * What workers need for one QAT step, broadcast by the driver: whether BatchNorm is frozen (and
 * folded), the trainable parameters in a fixed order, and the values they and BatchNorm's
 * running statistics have now.
 */
public record QatWeights(boolean frozen, List<String> trainable, Map<String, float[]> values) implements java.io.Serializable {
  public QatWeights {
    trainable = List.copyOf(trainable);
  }
}
