package io.qspark.kernels.ops;

/**
 * The DPU does not divide when it averages: it multiplies the window sum by an integer and
 * shifts right, sum * multiplier / 2^shift. Vitis AI (vai_q_pytorch's DPUAvgPool2d, vai_q_onnx's
 * avg-pool rescale) fixes the pair for the common square kernels and otherwise takes the first
 * shift in [0, ceil(log2(128 * area))) whose rounded 2^shift / area comes closest to 1 / area.
 * Fake-quant and the integer simulator both compute exactly sum * multiplier * 2^-shift.
 */
public record DpuAveragePool(int multiplier, int shift) implements java.io.Serializable {
  /** Node attributes that make AveragePool/GlobalAveragePool use the DPU's divisor. */
  public static final String MULTIPLIER = "qspark_dpu_multiplier";
  public static final String SHIFT = "qspark_dpu_shift";

  public static DpuAveragePool of(int kh, int kw) {
    if (kh == 3 && kw == 3) return new DpuAveragePool(7, 6);
    if (kh == 5 && kw == 5) return new DpuAveragePool(10, 8);
    if (kh == 6 && kw == 6) return new DpuAveragePool(7, 8);
    if (kh == 7 && kw == 7) return new DpuAveragePool(21, 10);
    if (kh == 14 && kw == 14) return new DpuAveragePool(21, 12);
    int area = kh * kw;
    if (area < 1) throw new IllegalArgumentException("pooling window " + kh + "x" + kw);
    int maxShift = (int) Math.ceil(Math.log(area * 128.0) / Math.log(2));
    double diff = 1.0;
    int mult = 0, shift = 0;
    for (int s = 0; s < maxShift; s++) {
      // Python's round(): half to even
      double f = Math.rint(Math.scalb(1.0, s) / area);
      double d = Math.abs(f / Math.scalb(1.0, s) - 1.0 / area);
      if (d < diff) {
        mult = (int) f;
        diff = d;
        shift = s;
      }
    }
    return new DpuAveragePool(mult, shift);
  }

  /** What the DPU's average is in units of the plain mean: area * multiplier / 2^shift. */
  public double scale(int area) {
    return area * (double) multiplier / Math.scalb(1.0, shift);
  }

  /** The DPU's average of a window sum, exact in double (sum and multiplier are small). */
  public double apply(double sum) {
    return Math.scalb(sum * multiplier, -shift);
  }
}
