package io.qspark.kernels.train;

import io.qspark.kernels.quant.QuantParams;
import java.util.List;
import java.util.Map;

/**
 * What workers need for one QAT step, broadcast by the driver: whether BatchNorm is frozen (and
 * folded), the trainable parameters in a fixed order, the values they and BatchNorm's running
 * statistics have now, and, when thresholds are learned (TQT), the step's quantizers (null:
 * the calibration's, fixed).
 */
public record QatWeights(boolean frozen, List<String> trainable, Map<String, float[]> values, QuantParams quantizers)
    implements java.io.Serializable {
  public QatWeights {
    trainable = List.copyOf(trainable);
  }

  /** Fixed quantizers: the calibration's. */
  public QatWeights(boolean frozen, List<String> trainable, Map<String, float[]> values) {
    this(frozen, trainable, values, null);
  }

  /** Whether this step learns thresholds (and its parts carry their gradients). */
  public boolean learnsThresholds() {
    return quantizers != null;
  }
}
