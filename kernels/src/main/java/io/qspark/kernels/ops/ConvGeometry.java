package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;

/**
 * The 2-D window arithmetic shared by Conv, ConvTranspose and pooling: kernel, strides,
 * dilations and pads, with ONNX's auto_pad resolved against the actual input size.
 */
public final class ConvGeometry {
  public final int kh, kw, sh, sw, dh, dw;
  private final int[] pads; // top, left, bottom, right as given
  private final String autoPad;
  private final boolean ceilMode;

  public ConvGeometry(Attributes a, int kh, int kw, String op) {
    this.kh = kh;
    this.kw = kw;
    long[] s = a.getInts("strides", new long[] {1, 1});
    long[] d = a.getInts("dilations", new long[] {1, 1});
    long[] p = a.getInts("pads", new long[] {0, 0, 0, 0});
    if (s.length != 2 || d.length != 2 || p.length != 4) {
      throw new OpException(op + ": only 2-D windows are supported (strides " + s.length
          + ", dilations " + d.length + ", pads " + p.length + " values)");
    }
    this.sh = (int) s[0];
    this.sw = (int) s[1];
    this.dh = (int) d[0];
    this.dw = (int) d[1];
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1) {
      throw new OpException(op + ": strides and dilations must be positive");
    }
    this.pads = new int[] {(int) p[0], (int) p[1], (int) p[2], (int) p[3]};
    this.autoPad = a.getString("auto_pad", "NOTSET");
    this.ceilMode = a.getInt("ceil_mode", 0) != 0;
  }

  private ConvGeometry(int kh, int kw, int sh, int sw, int dh, int dw) {
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) {
      throw new OpException("window " + kh + "x" + kw + " stride " + sh + "x" + sw + " dilation " + dh + "x" + dw
          + ": every size must be positive");
    }
    this.kh = kh;
    this.kw = kw;
    this.sh = sh;
    this.sw = sw;
    this.dh = dh;
    this.dw = dw;
    this.pads = new int[4];
    this.autoPad = "NOTSET";
    this.ceilMode = false;
  }

  /**
   * A window given by its numbers rather than by a node's attributes (a deploy model's layer, a
   * stride phase of a strided conv): no pads of its own (a {@link ConvShape} carries them), no
   * auto_pad, floor division of the output size.
   */
  public static ConvGeometry window(int kh, int kw, int sh, int sw, int dh, int dw) {
    return new ConvGeometry(kh, kw, sh, sw, dh, dw);
  }

  private int extent(int k, int d) {
    return (k - 1) * d + 1;
  }

  /** {top, left, bottom, right} for an input of h x w. */
  public int[] pads(int h, int w) {
    switch (autoPad) {
      case "NOTSET":
        return pads.clone();
      case "VALID":
        return new int[4];
      case "SAME_UPPER":
      case "SAME_LOWER": {
        int oh = (h + sh - 1) / sh;
        int ow = (w + sw - 1) / sw;
        int ph = Math.max(0, (oh - 1) * sh + extent(kh, dh) - h);
        int pw = Math.max(0, (ow - 1) * sw + extent(kw, dw) - w);
        boolean upper = autoPad.equals("SAME_UPPER");
        int top = upper ? ph / 2 : ph - ph / 2;
        int left = upper ? pw / 2 : pw - pw / 2;
        return new int[] {top, left, ph - top, pw - left};
      }
      default:
        throw new OpException("unknown auto_pad " + autoPad);
    }
  }

  /** {outH, outW} for an input of h x w. */
  public int[] out(int h, int w) {
    int[] p = pads(h, w);
    return new int[] {out(h, p[0], p[2], kh, dh, sh), out(w, p[1], p[3], kw, dw, sw)};
  }

  private int out(int in, int padBegin, int padEnd, int k, int d, int s) {
    int span = in + padBegin + padEnd - extent(k, d);
    if (span < 0) {
      throw new OpException("window " + k + " (dilation " + d + ") larger than padded input "
          + (in + padBegin + padEnd));
    }
    if (!ceilMode) return span / s + 1;
    int o = (span + s - 1) / s + 1;
    // as ONNX and PyTorch: a last window starting in the end padding is dropped
    if ((o - 1) * s >= in + padBegin) o--;
    return o;
  }

  /**
   * ConvTranspose's {top, left, bottom, right, outH, outW} for an input of h x w: the full
   * output is stride * (in - 1) + output_padding + dilated kernel, less the pads. An
   * output_shape, or SAME auto_pad (output = in * stride), fixes the size instead: the pads
   * follow from it, and an output larger than the full one is extended at the end (by the bias
   * alone). An odd total pad goes to the end for SAME_UPPER, as Conv.
   *
   * @param outputShape the spatial output size, or null
   */
  public int[] transposed(int h, int w, int[] outputPadding, int[] outputShape) {
    int fullH = sh * (h - 1) + outputPadding[0] + extent(kh, dh);
    int fullW = sw * (w - 1) + outputPadding[1] + extent(kw, dw);
    boolean same = autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER");
    int[] target = outputShape != null ? outputShape : same ? new int[] {h * sh, w * sw} : null;
    if (target != null) {
      if (target[0] <= 0 || target[1] <= 0) {
        throw new OpException("output_shape " + target[0] + "x" + target[1] + " is empty");
      }
      int th = Math.max(0, fullH - target[0]);
      int tw = Math.max(0, fullW - target[1]);
      boolean lower = autoPad.equals("SAME_LOWER");
      int top = lower ? th - th / 2 : th / 2;
      int left = lower ? tw - tw / 2 : tw / 2;
      return new int[] {top, left, th - top, tw - left, target[0], target[1]};
    }
    int[] p;
    if (autoPad.equals("VALID")) {
      p = new int[4];
    } else if (autoPad.equals("NOTSET")) {
      p = pads.clone();
    } else {
      throw new OpException("unknown auto_pad " + autoPad);
    }
    int oh = fullH - p[0] - p[2];
    int ow = fullW - p[1] - p[3];
    if (oh <= 0 || ow <= 0) {
      throw new OpException("pads " + java.util.Arrays.toString(p) + " leave an empty output for input "
          + h + "x" + w);
    }
    return new int[] {p[0], p[1], p[2], p[3], oh, ow};
  }

  public String describe() {
    StringBuilder b = new StringBuilder().append("k=").append(kh).append('x').append(kw);
    if (sh != 1 || sw != 1) b.append(" s=").append(sh).append(sh == sw ? "" : "x" + sw);
    if (dh != 1 || dw != 1) b.append(" d=").append(dh);
    if (!autoPad.equals("NOTSET")) b.append(" pad=").append(autoPad);
    else if (pads[0] != 0 || pads[1] != 0 || pads[2] != 0 || pads[3] != 0) {
      b.append(" p=").append(pads[0]);
      if (!(pads[0] == pads[1] && pads[1] == pads[2] && pads[2] == pads[3])) {
        b.append(',').append(pads[1]).append(',').append(pads[2]).append(',').append(pads[3]);
      }
    }
    return b.toString();
  }
}
