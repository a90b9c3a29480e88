package io.qspark.job.eval;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A segmentation model's pixels counted against label masks: the confusion matrix
 * {@code [label][predicted]} over every pixel whose label is not the ignore value, predicted the
 * argmax over the class axis. Long counts, so merging partitions in any order gives the same
 * matrix; IoU of class c is {@code cm[c][c] / (row c + column c - cm[c][c])} (the PASCAL VOC and
 * torchvision reference definition), mIoU the mean over the classes whose union is not empty.
 * Immutable.
 */
public final class SegmentationCounts implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The label of pixels that count for no class (VOC's boundaries, Cityscapes' void). */
  public static final int IGNORE = 255;

  private final int classes;
  private final long[] confusion;

  private SegmentationCounts(int classes, long[] confusion) {
    this.classes = classes;
    this.confusion = confusion;
  }

  public static SegmentationCounts empty(int classes) {
    if (classes < 1) throw new IllegalArgumentException("classes must be at least 1, got " + classes);
    return new SegmentationCounts(classes, new long[classes * classes]);
  }

  /** A mutable matrix a task fills, image by image. */
  public static final class Builder {
    private final int classes;
    private final long[] confusion;

    public Builder(int classes) {
      this.classes = classes;
      this.confusion = new long[classes * classes];
    }

    /**
     * One image: {@code scores} holds {@code [classes, pixels]} row-major from {@code offset}
     * (the item of an [N, C, H, W] output), {@code labels} a class or {@link #IGNORE} per pixel,
     * already checked to be in range. Ties go to the lower class, as torch.argmax and numpy.argmax.
     */
    public void add(float[] scores, int offset, int pixels, int[] labels) {
      if (labels.length != pixels) throw new IllegalArgumentException(labels.length + " labels for " + pixels + " pixels");
      for (int p = 0; p < pixels; p++) {
        int label = labels[p];
        if (label == IGNORE) continue;
        int best = 0;
        float top = scores[offset + p];
        for (int c = 1; c < classes; c++) {
          float v = scores[offset + c * pixels + p];
          if (v > top) {
            top = v;
            best = c;
          }
        }
        confusion[label * classes + best]++;
      }
    }

    public SegmentationCounts build() {
      return new SegmentationCounts(classes, confusion.clone());
    }
  }

  public SegmentationCounts plus(SegmentationCounts o) {
    if (o.classes != classes) throw new IllegalArgumentException("class counts differ: " + classes + " and " + o.classes);
    long[] sum = confusion.clone();
    for (int i = 0; i < sum.length; i++) sum[i] += o.confusion[i];
    return new SegmentationCounts(classes, sum);
  }

  public int classes() {
    return classes;
  }

  /** Pixels counted (labelled, not ignored). */
  public long pixels() {
    long n = 0;
    for (long v : confusion) n += v;
    return n;
  }

  /** Pixels labelled {@code label} and predicted {@code predicted}. */
  public long count(int label, int predicted) {
    return confusion[label * classes + predicted];
  }

  /** Pixels where class c is the label and the prediction. */
  public long intersection(int c) {
    return count(c, c);
  }

  /** Pixels where class c is the label or the prediction. */
  public long union(int c) {
    long row = 0, col = 0;
    for (int k = 0; k < classes; k++) {
      row += count(c, k);
      col += count(k, c);
    }
    return row + col - count(c, c);
  }

  /** IoU of class c in [0, 1], or NaN when the class is neither labelled nor predicted. */
  public double iou(int c) {
    long u = union(c);
    return u == 0 ? Double.NaN : (double) intersection(c) / u;
  }

  /** Mean IoU over the classes present (union not empty), in [0, 1]; NaN when no pixel counted. */
  public double miou() {
    double sum = 0;
    int n = 0;
    for (int c = 0; c < classes; c++) {
      double v = iou(c);
      if (!Double.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  /** For report.json: mIoU and per-class IoU in percent (null for a class not present), pixels counted. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("miou", percent(miou()));
    List<Object> per = new ArrayList<>();
    for (int c = 0; c < classes; c++) per.add(percent(iou(c)));
    m.put("iou_per_class", per);
    m.put("pixels", pixels());
    return m;
  }

  private static Object percent(double v) {
    return Double.isNaN(v) ? null : 100 * v;
  }
}
