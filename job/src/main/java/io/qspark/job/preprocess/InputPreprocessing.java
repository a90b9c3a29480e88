package io.qspark.job.preprocess;

import io.qspark.job.base.UserError;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How stored images became one input of the model when a folder was made, as the folder records
 * it (folder.json and report.json), so that stages reading the folder apply the same by default:
 * the geometric step (resize, crop), the pixel step (channel swap, raw scale, mean, std) and the
 * input it produced (its name, layout and the shape of one item). When the data already held
 * model inputs ({@link Source#MODEL_INPUTS}) the steps are none and say nothing about pixels.
 *
 * @param input the model input fed (a model may have several; each records its own)
 * @param itemShape the shape of one item of that input, e.g. [1, 28, 28] (NCHW without N)
 */
public record InputPreprocessing(String input, Source source, ImageGeometry geometry, Preprocessing pixels,
    int[] itemShape) implements Serializable {
  /** What the stored data held. */
  public enum Source {
    /** Pixels, made into inputs by the recorded steps. */
    PIXELS("pixels"),
    /** Model inputs, used as they were: nothing is known about pixels. */
    MODEL_INPUTS("model_inputs");

    public final String key;

    Source(String key) {
      this.key = key;
    }

    static Source parse(String key) {
      for (Source s : values()) if (s.key.equals(key)) return s;
      throw new IllegalArgumentException("source must be pixels or model_inputs, got '" + key + "'");
    }
  }

  /** The layout of model inputs this records: planar channels, batch first. */
  public static final String LAYOUT = "NCHW";

  public InputPreprocessing {
    if (input == null || source == null || geometry == null || pixels == null || itemShape == null) {
      throw new IllegalArgumentException("input, source, geometry, pixels and item shape must be given");
    }
    itemShape = itemShape.clone();
  }

  @Override
  public int[] itemShape() {
    return itemShape.clone();
  }

  /** The record of pixels made into the input {@code input} of item shape {@code itemShape}. */
  public static InputPreprocessing ofPixels(String input, ImageGeometry geometry, Preprocessing pixels, int[] itemShape) {
    return new InputPreprocessing(input, Source.PIXELS, geometry, pixels, itemShape);
  }

  /** The record of data that held the inputs themselves. */
  public static InputPreprocessing ofModelInputs(String input, int[] itemShape) {
    return new InputPreprocessing(input, Source.MODEL_INPUTS, ImageGeometry.NONE, Preprocessing.none(), itemShape);
  }

  /** As folder.json and report.json hold it. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("input", input);
    m.put("source", source.key);
    m.put("layout", LAYOUT);
    m.put("shape", ints(itemShape));
    if (source == Source.PIXELS) {
      m.put("resize", geometry.resize() == 0 ? null : geometry.resize());
      m.put("crop", geometry.cropHeight() == 0 ? null : List.of(geometry.cropHeight(), geometry.cropWidth()));
      int[] swap = pixels.channelSwap();
      m.put("channel_swap", swap == null ? null : ints(swap));
      m.put("raw_scale", decimal(pixels.rawScale()));
      m.put("mean", floats(pixels.mean()));
      m.put("std", floats(pixels.std()));
    }
    return m;
  }

  /** Reads {@link #json}'s form; {@code where} names the file for messages. */
  @SuppressWarnings("unchecked")
  public static InputPreprocessing fromJson(Map<String, Object> m, String where) {
    try {
      Source source = Source.parse((String) m.get("source"));
      String input = (String) m.get("input");
      if (!LAYOUT.equals(m.get("layout"))) throw new IllegalArgumentException("layout must be " + LAYOUT + ", got " + m.get("layout"));
      int[] shape = toInts((List<Object>) m.get("shape"));
      if (source == Source.MODEL_INPUTS) return ofModelInputs(input, shape);
      Number resize = (Number) m.get("resize");
      List<Object> crop = (List<Object>) m.get("crop");
      ImageGeometry g = new ImageGeometry(resize == null ? 0 : resize.intValue(),
          crop == null ? 0 : ((Number) crop.get(0)).intValue(), crop == null ? 0 : ((Number) crop.get(1)).intValue());
      List<Object> swap = (List<Object>) m.get("channel_swap");
      Preprocessing p = new Preprocessing(toFloats((List<Object>) m.get("mean")), toFloats((List<Object>) m.get("std")),
          ((Number) m.get("raw_scale")).floatValue(), swap == null ? null : toInts(swap));
      return ofPixels(input, g, p, shape);
    } catch (RuntimeException e) { // ClassCast, NullPointer, IllegalArgument: a damaged or foreign file
      throw new UserError(where + ": the recorded preprocessing is not readable: " + e.getMessage(), e);
    }
  }

  /** The steps as flags would give them, for reports: "resize 256, center crop 224x224, mean 72.94, std 90.02, raw scale 255". */
  public String describe() {
    if (source == Source.MODEL_INPUTS) return "none (the data holds model inputs)";
    return geometry.isNone() ? pixels.describe() : geometry.describe() + ", " + pixels.describe();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InputPreprocessing p && p.input.equals(input) && p.source == source && p.geometry.equals(geometry)
        && p.pixels.equals(pixels) && Arrays.equals(p.itemShape, itemShape);
  }

  @Override
  public int hashCode() {
    return input.hashCode() * 31 + Arrays.hashCode(itemShape) + pixels.hashCode();
  }

  private static List<Object> ints(int[] v) {
    List<Object> r = new ArrayList<>();
    for (int x : v) r.add(x);
    return r;
  }

  /** Floats as their shortest decimals (72.94f as 72.94, not 72.94000244140625), which read back as the same floats. */
  private static List<Object> floats(float[] v) {
    List<Object> r = new ArrayList<>();
    for (float x : v) r.add(decimal(x));
    return r;
  }

  private static double decimal(float x) {
    return Double.parseDouble(Float.toString(x));
  }

  private static int[] toInts(List<Object> v) {
    int[] r = new int[v.size()];
    for (int i = 0; i < r.length; i++) r[i] = ((Number) v.get(i)).intValue();
    return r;
  }

  private static float[] toFloats(List<Object> v) {
    float[] r = new float[v.size()];
    for (int i = 0; i < r.length; i++) r[i] = ((Number) v.get(i)).floatValue();
    return r;
  }
}
