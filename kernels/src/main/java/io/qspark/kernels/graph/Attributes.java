package io.qspark.kernels.graph;

import io.qspark.kernels.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A node's attributes by name, typed on read; format-neutral (no ONNX or Caffe types). */
public final class Attributes {
  /**
   * Reserved key: the opset the node was imported under, for the few ops whose meaning changed
   * between opsets (Softmax's axis, Resize's inputs). Not a model attribute: exporters skip keys
   * starting with "__". Nodes without it (built by passes or other importers) get the newest
   * semantics.
   */
  public static final String OPSET = "__opset__";

  private final Map<String, Object> values;

  public Attributes(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  public static Attributes empty() {
    return new Attributes(Map.of());
  }

  public Map<String, Object> asMap() { return values; }

  public boolean has(String name) { return values.containsKey(name); }

  /** The opset recorded under {@link #OPSET}, or Long.MAX_VALUE (newest semantics) if none. */
  public long opset() {
    return getInt(OPSET, Long.MAX_VALUE);
  }

  public long getInt(String name, long dflt) {
    Object v = values.get(name);
    return v == null ? dflt : typed(name, v, Number.class, "an int").longValue();
  }

  public float getFloat(String name, float dflt) {
    Object v = values.get(name);
    return v == null ? dflt : typed(name, v, Number.class, "a float").floatValue();
  }

  public String getString(String name, String dflt) {
    Object v = values.get(name);
    return v == null ? dflt : typed(name, v, String.class, "a string");
  }

  public long[] getInts(String name, long[] dflt) {
    Object v = values.get(name);
    return v == null ? dflt : typed(name, v, long[].class, "a list of ints");
  }

  public float[] getFloats(String name, float[] dflt) {
    Object v = values.get(name);
    return v == null ? dflt : typed(name, v, float[].class, "a list of floats");
  }

  public Tensor getTensor(String name) {
    Object v = values.get(name);
    return v == null ? null : typed(name, v, Tensor.class, "a tensor");
  }

  /** A model file may give any attribute any type: the wrong one is the model's error, not a ClassCastException. */
  private static <T> T typed(String name, Object v, Class<T> type, String expected) {
    if (type.isInstance(v)) return type.cast(v);
    String have = v instanceof long[] ? "a list of ints" : v instanceof float[] ? "a list of floats"
        : v instanceof String[] ? "a list of strings" : v instanceof Tensor ? "a tensor" : v instanceof String ? "a string"
        : v instanceof Number ? "a number" : v.getClass().getSimpleName();
    throw new GraphException("attribute '" + name + "' is " + have + " where " + expected + " is expected");
  }

  /** A copy with one value replaced or added. */
  public Attributes with(String name, Object value) {
    Map<String, Object> m = new LinkedHashMap<>(values);
    m.put(name, value);
    return new Attributes(m);
  }
}
