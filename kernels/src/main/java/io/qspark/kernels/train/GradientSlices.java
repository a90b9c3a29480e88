package io.qspark.kernels.train;

/**
 * A step's gradient (every trainable parameter's, end to end as one vector of length L) cut into
 * S slices of consecutive elements, slice k = [k L / S, (k+1) L / S): the unit of QAT's
 * reduce-scatter, where the owner of slice k sums that slice of every micro-batch's part.
 *
 * <p>Invariant: {@link #add} sums as {@link QatGradient#total()} does, element by element
 * {@code double += float} with micro-batch 0 first, so summing slices of the parts in index
 * order and putting them back together ({@link #assemble}) gives the same bits as summing the
 * whole parts, for any S (QatGradientSlicesTest; QatJobTest through Spark).
 */
public record GradientSlices(int[] sizes, int slices) implements java.io.Serializable {
  public GradientSlices {
    if (slices < 1) throw new IllegalArgumentException("slices " + slices);
    sizes = sizes.clone();
  }

  /** The slices of parts shaped as {@code shape} (a part's gradients). */
  public static GradientSlices of(float[][] shape, int slices) {
    int[] sizes = new int[shape.length];
    for (int i = 0; i < sizes.length; i++) sizes[i] = shape[i].length;
    return new GradientSlices(sizes, slices);
  }

  public long length() {
    long n = 0;
    for (int s : sizes) n += s;
    return n;
  }

  /** Slice k's first element in the whole vector. */
  public long start(int k) {
    return k * length() / slices;
  }

  /** Slice k of a part's gradients, copied. */
  public float[] slice(float[][] gradients, int k) {
    long from = start(k), to = start(k + 1);
    float[] out = new float[Math.toIntExact(to - from)];
    long at = 0;
    int o = 0;
    for (float[] g : gradients) {
      long lo = Math.max(from, at), hi = Math.min(to, at + g.length);
      if (lo < hi) {
        System.arraycopy(g, (int) (lo - at), out, o, (int) (hi - lo));
        o += (int) (hi - lo);
      }
      at += g.length;
    }
    return out;
  }

  /** Adds one micro-batch's slice to the slice's sum: call in micro-batch index order. */
  public static void add(double[] sum, float[] slice) {
    if (sum.length != slice.length) throw new IllegalArgumentException("slice of " + slice.length + ", sum of " + sum.length);
    for (int i = 0; i < sum.length; i++) sum[i] += slice[i];
  }

  /** The per-parameter sums from every slice's sum ({@code sums[k]}: slice k's). */
  public double[][] assemble(double[][] sums) {
    if (sums.length != slices) throw new IllegalArgumentException(sums.length + " slice sums, expected " + slices);
    double[][] out = new double[sizes.length][];
    for (int i = 0; i < sizes.length; i++) out[i] = new double[sizes[i]];
    long at = 0;
    for (int k = 0; k < slices; k++) {
      double[] s = sums[k];
      if (s.length != start(k + 1) - start(k)) throw new IllegalArgumentException("slice " + k + " has " + s.length + " values");
      long from = start(k);
      int p = 0;
      long base = 0;
      // the parameter holding element 'from'
      while (p < sizes.length && base + sizes[p] <= from) base += sizes[p++];
      int o = 0;
      while (o < s.length) {
        int off = (int) (from + o - base);
        int n = Math.min(s.length - o, sizes[p] - off);
        System.arraycopy(s, o, out[p], off, n);
        o += n;
        base += sizes[p];
        p++;
      }
      at += s.length;
    }
    if (at != length()) throw new IllegalStateException("slices cover " + at + " of " + length());
    return out;
  }
}
