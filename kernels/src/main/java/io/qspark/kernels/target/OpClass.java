package io.qspark.kernels.target;

import java.util.Set;

/**
 * The DPU's own operator classes, as UG1414 lists them (conv2d, depthwise-conv2d, pooling,
 * eltwise, ...): a target file names its supported ops by these keys, and the partitioner maps
 * ONNX nodes onto them. Each class accepts only the limit keys that mean something for it.
 */
public enum OpClass {
  CONV("conv", "conv", Set.of("kernel", "stride", "max_channels", "activations", "grouped")),
  DEPTHWISE_CONV("depthwise_conv", "depthwise conv", Set.of("kernel", "stride", "max_channels", "activations")),
  FULLY_CONNECTED("fully_connected", "fully connected", Set.of("max_channels", "activations")),
  MAX_POOL("max_pool", "max pool", Set.of("kernel", "stride")),
  AVERAGE_POOL("average_pool", "average pool", Set.of("kernel", "stride", "square")),
  ELTWISE_ADD("eltwise_add", "eltwise add", Set.of("max_inputs", "max_channels", "activations")),
  ELTWISE_MUL("eltwise_mul", "eltwise mul", Set.of("max_inputs", "max_channels", "activations")),
  CONCAT("concat", "concat", Set.of()),
  /** Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout: layout only, judged by their neighbours. */
  RESHAPE("reshape", "reshape", Set.of());

  private final String key;
  private final String label;
  private final Set<String> limitKeys;

  OpClass(String key, String label, Set<String> limitKeys) {
    this.key = key;
    this.label = label;
    this.limitKeys = limitKeys;
  }

  /** The name in target files and JSON. */
  public String key() {
    return key;
  }

  /** The name in reasons ("DPU depthwise conv"). */
  public String label() {
    return label;
  }

  Set<String> limitKeys() {
    return limitKeys;
  }

  public static OpClass ofKey(String key) {
    for (OpClass c : values()) if (c.key.equals(key)) return c;
    return null;
  }
}
