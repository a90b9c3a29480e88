package io.qspark.kernels.target;

import java.util.Set;

/**
 * The limits of one DPU op class. Fields a class does not use are null/empty/0 (see
 * {@link OpClass} for which apply); the geometric rules UG1414 states as formulas (pad at most
 * (k-1)*dilation, k_w*k_h*ceil(ic/channel_parallel) within the bank depth) are the
 * partitioner's, with the target's numbers.
 */
public record OpLimits(Range kernel, Range stride, int maxChannels, Set<String> activations,
    boolean grouped, boolean square, int maxInputs) {

  /** Activation kinds a target may list, as the DPU names them. */
  public static final Set<String> ACTIVATIONS = Set.of("relu", "relu6", "leaky_relu", "hard_sigmoid", "hard_swish");

  public OpLimits {
    activations = Set.copyOf(activations);
  }

  /** An inclusive integer range. */
  public record Range(int min, int max) {
    public boolean contains(long v) {
      return v >= min && v <= max;
    }

    @Override
    public String toString() {
      return "[" + min + ", " + max + "]";
    }
  }
}
