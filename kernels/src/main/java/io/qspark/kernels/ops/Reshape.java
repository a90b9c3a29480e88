package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.Arrays;

/** ONNX Reshape: 0 copies the input dimension (unless allowzero), one -1 is inferred. */
public final class Reshape implements Op {
  private final boolean allowZero;

  public Reshape(Attributes a) {
    this.allowZero = a.getInt("allowzero", 0) != 0;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    return new Tensor[] {x.reshape(target(x.shape(), in[1].asLongs(), allowZero))};
  }

  /** The output shape of reshaping {@code from} by {@code spec}, or an OpException. */
  public static int[] target(int[] from, long[] spec, boolean allowZero) {
    int[] shape = new int[spec.length];
    int infer = -1;
    long known = 1;
    for (int i = 0; i < spec.length; i++) {
      long s = spec[i];
      if (s == -1) {
        if (infer >= 0) throw new OpException("Reshape: more than one -1 in " + Arrays.toString(spec));
        infer = i;
        continue;
      }
      if (s == 0 && !allowZero) {
        if (i >= from.length) throw new OpException("Reshape: 0 at position " + i + " beyond input rank");
        s = from[i];
      }
      if (s < 0) throw new OpException("Reshape: invalid dimension " + s);
      shape[i] = (int) s;
      known *= s;
    }
    long total = Shapes.size(from);
    if (infer >= 0) {
      if (known == 0 || total % known != 0) {
        throw new OpException("Reshape: cannot reshape " + Tensor.shapeString(from) + " to " + Arrays.toString(spec));
      }
      shape[infer] = (int) (total / known);
    } else if (known != total) {
      throw new OpException("Reshape: cannot reshape " + Tensor.shapeString(from) + " (" + total
          + " elements) to " + Arrays.toString(spec));
    }
    return shape;
  }
}
