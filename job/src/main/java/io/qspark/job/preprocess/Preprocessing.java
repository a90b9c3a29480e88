package io.qspark.job.preprocess;

import io.qspark.job.preprocess.ImageLayout;
import java.io.Serializable;
import java.util.Arrays;

/**
 * Raw pixels to model input, Caffe's order: channel swap, raw scale, mean, std:
 * x[c] = (pixel[swap[c]] * rawScale / 255 - mean[c]) / std[c]. Immutable; shipped to tasks.
 */
public final class Preprocessing implements Serializable {
  private static final long serialVersionUID = 1L;

  private final float[] mean;
  private final float[] std;
  private final float rawScale;
  /** null: channels as stored. */
  private final int[] channelSwap;

  public Preprocessing(float[] mean, float[] std, float rawScale, int[] channelSwap) {
    if (mean == null || mean.length == 0) mean = new float[] {0f};
    if (std == null || std.length == 0) std = new float[] {1f};
    for (float s : std) {
      if (s == 0f || !Float.isFinite(s)) throw new IllegalArgumentException("--std values must be finite and non-zero, got " + s);
    }
    for (float m : mean) {
      if (!Float.isFinite(m)) throw new IllegalArgumentException("--mean values must be finite, got " + m);
    }
    if (!(rawScale > 0f) || !Float.isFinite(rawScale)) {
      throw new IllegalArgumentException("--raw-scale must be positive, got " + rawScale);
    }
    if (channelSwap != null) {
      for (int c : channelSwap) {
        if (c < 0) throw new IllegalArgumentException("--channel-swap indices must be >= 0, got " + c);
      }
    }
    this.mean = mean.clone();
    this.std = std.clone();
    this.rawScale = rawScale;
    this.channelSwap = channelSwap == null || channelSwap.length == 0 ? null : channelSwap.clone();
  }

  /** The identity on raw 0..255 pixels. */
  public static Preprocessing none() {
    return new Preprocessing(null, null, 255f, null);
  }

  /** Per-channel means (one value: all channels), in pixel units after the raw scale. */
  public float[] mean() {
    return mean.clone();
  }

  /** Per-channel divisors (one value: all channels). */
  public float[] std() {
    return std.clone();
  }

  /** Pixels are scaled from 0..255 to 0..rawScale first. */
  public float rawScale() {
    return rawScale;
  }

  /** Model channel c takes stored channel channelSwap[c]; null: channels as stored. */
  public int[] channelSwap() {
    return channelSwap == null ? null : channelSwap.clone();
  }

  /** Whether this is the identity on raw 0..255 pixels (mean 0, std 1, raw scale 255, no swap). */
  public boolean isIdentity() {
    return channelSwap == null && rawScale == 255f && allEqual(mean, 0f) && allEqual(std, 1f);
  }

  private static boolean allEqual(float[] v, float x) {
    for (float f : v) if (f != x) return false;
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Preprocessing p && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std)
        && p.rawScale == rawScale && Arrays.equals(p.channelSwap, channelSwap);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std) + Float.hashCode(rawScale) + Arrays.hashCode(channelSwap);
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Channels the model receives from images with {@code stored} channels. */
  public int outputChannels(int stored) {
    return channelSwap == null ? stored : channelSwap.length;
  }

  /** Checks the settings against images of this layout; the message says which flag to fix. */
  public void check(ImageLayout layout) {
    int out = outputChannels(layout.channels());
    if (channelSwap != null) {
      for (int c : channelSwap) {
        if (c >= layout.channels()) {
          throw new IllegalArgumentException("--channel-swap " + join(channelSwap) + " names channel " + c
              + " but the images have " + layout.channels());
        }
      }
    }
    if (mean.length != 1 && mean.length != out) {
      throw new IllegalArgumentException("--mean has " + mean.length + " values for " + out + " channels");
    }
    if (std.length != 1 && std.length != out) {
      throw new IllegalArgumentException("--std has " + std.length + " values for " + out + " channels");
    }
  }

  /** Writes one image, planar C,H,W, to {@code dst} from {@code offset}. */
  public void apply(byte[] pixels, ImageLayout layout, float[] dst, int offset) {
    int c = layout.channels();
    int hw = layout.height() * layout.width();
    int out = outputChannels(c);
    // 255f/255f is exactly 1, so the default leaves integer pixels exact
    float scale = rawScale / 255f;
    for (int oc = 0; oc < out; oc++) {
      int src = channelSwap == null ? oc : channelSwap[oc];
      float m = mean[mean.length == 1 ? 0 : oc];
      float s = std[std.length == 1 ? 0 : oc];
      int d = offset + oc * hw;
      if (layout.channelsLast()) {
        for (int i = 0; i < hw; i++) dst[d + i] = ((pixels[i * c + src] & 0xff) * scale - m) / s;
      } else {
        int p = src * hw;
        for (int i = 0; i < hw; i++) dst[d + i] = ((pixels[p + i] & 0xff) * scale - m) / s;
      }
    }
  }

  /** The settings as flags, for reports. */
  public String describe() {
    return "mean " + join(mean) + ", std " + join(std) + ", raw scale " + fmt(rawScale)
        + (channelSwap == null ? "" : ", channel swap " + join(channelSwap));
  }

  private static String join(float[] v) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < v.length; i++) b.append(i > 0 ? "," : "").append(fmt(v[i]));
    return b.toString();
  }

  private static String join(int[] v) {
    return Arrays.toString(v).replaceAll("[\\[\\] ]", "");
  }

  private static String fmt(float f) {
    return f == Math.rint(f) ? Long.toString((long) f) : Float.toString(f);
  }
}
