package io.qspark.kernels.graph;

import io.qspark.kernels.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A node's attributes by name, typed on read; format-neutral (no ONNX or Caffe types). */
public final class Attributes {
  private final Map<String, Object> values;

  public Attributes(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
  }

  public static Attributes empty() {
    return new Attributes(Map.of());
  }

  public Map<String, Object> asMap() { return values; }

  public boolean has(String name) { return values.containsKey(name); }

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
