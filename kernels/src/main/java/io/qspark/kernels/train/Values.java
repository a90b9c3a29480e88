package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;

/** Named tensors in a serializable form, for activations cached between Spark stages. */
final class Values implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final HashMap<String, float[]> floats = new HashMap<>();
  private final HashMap<String, long[]> longs = new HashMap<>();
  private final HashMap<String, int[]> shapes = new HashMap<>();

  Values() {}

  Values(Values other) {
    floats.putAll(other.floats);
    longs.putAll(other.longs);
    shapes.putAll(other.shapes);
  }

  void put(String name, Tensor t) {
    if (t.isFloat()) floats.put(name, t.data());
    else longs.put(name, t.longs());
    shapes.put(name, t.shape());
  }

  Tensor get(String name) {
    int[] s = shapes.get(name);
    if (s == null) return null;
    float[] f = floats.get(name);
    return f != null ? Tensor.of(f, s) : Tensor.ofLongs(longs.get(name), s);
  }

  void remove(String name) {
    floats.remove(name);
    longs.remove(name);
    shapes.remove(name);
  }

  Iterable<String> names() {
    return new java.util.ArrayList<>(shapes.keySet());
  }

  Map<String, int[]> shapes() {
    return shapes;
  }
}
