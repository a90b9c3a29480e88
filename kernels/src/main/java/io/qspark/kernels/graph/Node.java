package io.qspark.kernels.graph;

import java.util.List;

/**
 * One operator application. Names are the model file's own (reports and errors cite them);
 * an empty input name is an omitted optional input, as in ONNX.
 */
public record Node(String name, String opType, String domain, List<String> inputs,
    List<String> outputs, Attributes attributes) {

  public Node {
    domain = domain == null ? "" : domain;
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** A node of the default (ONNX) domain. */
  public Node(String name, String opType, List<String> inputs, List<String> outputs,
      Attributes attributes) {
    this(name, opType, "", inputs, outputs, attributes);
  }

  public String input(int i) {
    return i < inputs.size() ? inputs.get(i) : "";
  }

  public boolean hasInput(int i) {
    return !input(i).isEmpty();
  }

  /** "name (OpType)", the way every error and report names a node. */
  public String describe() {
    return (name.isEmpty() ? outputs.get(0) : name) + " (" + opType + ")";
  }
}
