package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A segmentation metric for evaluate and simulate (--metric miou --labels MASKS [--output NAME]):
 * mean IoU of the argmax over the class axis of an [N, C, H, W] output against a folder of PNG
 * label masks, one per image, matched by the image's file name without extension. A mask must
 * have the output's H x W (masks are not resized: resize them as the images, with nearest
 * neighbour, before); 255 marks pixels to ignore.
 *
 * @param masks the folder of PNG masks, local or on any Hadoop file system
 * @param output the output scored, or null: the model's only output with four dimensions
 */
public record SegmentationMetric(String masks, String output) {
  /** The one metric there is: mean intersection over union. */
  public static final String MIOU = "miou";

  public SegmentationMetric {
    if (masks == null || masks.isBlank()) {
      throw new IllegalArgumentException("--metric miou needs --labels MASKS: a folder of PNG label masks, one per image");
    }
    if (output != null && output.isBlank()) throw new IllegalArgumentException("--output is empty");
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("metric", MIOU);
    m.put("labels", masks);
    if (output != null) m.put("output", output);
    return m;
  }
}
