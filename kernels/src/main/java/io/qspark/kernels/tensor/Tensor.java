package io.qspark.kernels.tensor;

import java.util.Arrays;

/**
 * A dense row-major tensor. Activations and weights are float32; shape arithmetic (Shape, Gather
 * on shapes, Reshape targets) is int64. One class for both keeps the executor's value table
 * uniform; the dtype says which array is live.
 */
public final class Tensor {
  public enum DType { FLOAT, INT64 }

  private final DType dtype;
  private final int[] shape;
  private final float[] f;
  private final long[] l;

  private Tensor(DType dtype, int[] shape, float[] f, long[] l) {
    this.dtype = dtype;
    this.shape = shape;
    this.f = f;
    this.l = l;
    long n = size(shape);
    long have = f != null ? f.length : l.length;
    if (n != have) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " holds " + n + " elements, data has " + have);
    }
  }

  public static Tensor of(float[] data, int... shape) {
    return new Tensor(DType.FLOAT, shape.clone(), data, null);
  }

  public static Tensor ofLongs(long[] data, int... shape) {
    return new Tensor(DType.INT64, shape.clone(), null, data);
  }

  public static Tensor zeros(int... shape) {
    return of(new float[Math.toIntExact(size(shape))], shape);
  }

  public static Tensor scalar(float v) {
    return of(new float[] {v});
  }

  public static long size(int[] shape) {
    long n = 1;
    for (int d : shape) {
      if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      n *= d;
    }
    return n;
  }

  public DType dtype() { return dtype; }

  public boolean isFloat() { return dtype == DType.FLOAT; }

  public int[] shape() { return shape.clone(); }

  public int rank() { return shape.length; }

  public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

  public int size() { return f != null ? f.length : l.length; }

  /** The live float array (not a copy: ops write their own outputs, never their inputs). */
  public float[] data() {
    if (f == null) throw new IllegalStateException("int64 tensor read as float");
    return f;
  }

  public long[] longs() {
    if (l == null) throw new IllegalStateException("float tensor read as int64");
    return l;
  }

  /** Values as longs whatever the dtype: for attribute-like inputs (axes, shapes, pads). */
  public long[] asLongs() {
    if (l != null) return l;
    long[] r = new long[f.length];
    for (int i = 0; i < f.length; i++) r[i] = (long) f[i];
    return r;
  }

  /** Values as floats whatever the dtype. */
  public float[] asFloats() {
    if (f != null) return f;
    float[] r = new float[l.length];
    for (int i = 0; i < l.length; i++) r[i] = l[i];
    return r;
  }

  /** Same data, another shape with the same element count. */
  public Tensor reshape(int... newShape) {
    return f != null ? new Tensor(DType.FLOAT, newShape.clone(), f, null)
        : new Tensor(DType.INT64, newShape.clone(), null, l);
  }

  public Tensor copy() {
    return f != null ? of(f.clone(), shape) : ofLongs(l.clone(), shape);
  }

  /** Images [from, to) along axis 0, copied. */
  public Tensor slice0(int from, int to) {
    int per = shape[0] == 0 ? 0 : size() / shape[0];
    int[] s = shape.clone();
    s[0] = to - from;
    if (f != null) return of(Arrays.copyOfRange(f, from * per, to * per), s);
    return ofLongs(Arrays.copyOfRange(l, from * per, to * per), s);
  }

  public static String shapeString(int[] shape) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) b.append(',');
      b.append(shape[i] < 0 ? "N" : Integer.toString(shape[i]));
    }
    return b.append(']').toString();
  }

  @Override
  public String toString() {
    return "Tensor" + dtype + shapeString(shape);
  }
}
