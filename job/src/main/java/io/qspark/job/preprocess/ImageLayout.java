package io.qspark.job.preprocess;

import java.io.Serializable;

/** How one image's bytes are laid out: planar C,H,W, or interleaved H,W,C when {@code channelsLast}. */
public record ImageLayout(int channels, int height, int width, boolean channelsLast) implements Serializable {
  public int size() {
    return channels * height * width;
  }

  /** "CxHxW", the way reports and errors show an image. */
  public String describe() {
    return channels + "x" + height + "x" + width;
  }
}
