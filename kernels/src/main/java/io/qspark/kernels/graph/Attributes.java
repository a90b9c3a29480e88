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
    return v == null ? dflt : ((Number) v).longValue();
  }

  public float getFloat(String name, float dflt) {
    Object v = values.get(name);
    return v == null ? dflt : ((Number) v).floatValue();
  }

  public String getString(String name, String dflt) {
    Object v = values.get(name);
    return v == null ? dflt : (String) v;
  }

  public long[] getInts(String name, long[] dflt) {
    Object v = values.get(name);
    return v == null ? dflt : (long[]) v;
  }

  public float[] getFloats(String name, float[] dflt) {
    Object v = values.get(name);
    return v == null ? dflt : (float[]) v;
  }

  public Tensor getTensor(String name) {
    return (Tensor) values.get(name);
  }

  /** A copy with one value replaced or added. */
  public Attributes with(String name, Object value) {
    Map<String, Object> m = new LinkedHashMap<>(values);
    m.put(name, value);
    return new Attributes(m);
  }
}
