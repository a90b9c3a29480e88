package io.qspark.job.preprocess;

import io.qspark.job.base.UserError;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The preprocessing a user asked for: each step given or not ({@code null}), so that a stage
 * reading a folder can take the folder's recorded steps for those not given and notice a given
 * one that contradicts the record. Named as the command-line flags are (--mean, --std,
 * --raw-scale, --channel-swap, --resize, --crop); values are checked when made. Immutable.
 *
 * @param override take the given steps even where they contradict the folder's record
 */
public record PreprocessSettings(float[] mean, float[] std, Float rawScale, int[] channelSwap, Integer resize, int[] crop,
    boolean override) implements Serializable {
  /** Nothing given: the folder's record, else the defaults (mean 0, std 1, raw scale 255, no swap). */
  public static final PreprocessSettings NONE = new PreprocessSettings(null, null, null, null, null, null, false);

  /** When nothing is given or recorded and the first inputs have |mean| above this, a warning names --mean/--std. */
  public static final double UNNORMALIZED_MEAN = 2;
  /** ... or a standard deviation above this. */
  public static final double UNNORMALIZED_STD = 4;

  public PreprocessSettings {
    mean = empty(mean) ? null : mean.clone();
    std = empty(std) ? null : std.clone();
    channelSwap = channelSwap == null || channelSwap.length == 0 ? null : channelSwap.clone();
    crop = crop == null ? null : crop.clone();
    if (resize != null && resize < 1) throw new IllegalArgumentException("--resize must be at least 1, got " + resize);
    if (crop != null && (crop.length < 1 || crop.length > 2 || Arrays.stream(crop).anyMatch(c -> c < 1))) {
      throw new IllegalArgumentException("--crop needs one or two positive numbers H[,W], got " + Arrays.toString(crop));
    }
    // the pixel step's own checks (finite mean, non-zero std, positive raw scale, swap indices)
    new Preprocessing(mean, std, rawScale == null ? 255f : rawScale, channelSwap);
  }

  /** Fully given pixel and geometry steps (everything else at its default), as code that knows them makes settings. */
  public static PreprocessSettings of(Preprocessing pixels, ImageGeometry geometry) {
    return new PreprocessSettings(pixels.mean(), pixels.std(), pixels.rawScale(), pixels.channelSwap(),
        geometry.resize() == 0 ? null : geometry.resize(),
        geometry.cropHeight() == 0 ? null : new int[] {geometry.cropHeight(), geometry.cropWidth()}, false);
  }

  @Override
  public float[] mean() {
    return mean == null ? null : mean.clone();
  }

  @Override
  public float[] std() {
    return std == null ? null : std.clone();
  }

  @Override
  public int[] channelSwap() {
    return channelSwap == null ? null : channelSwap.clone();
  }

  @Override
  public int[] crop() {
    return crop == null ? null : crop.clone();
  }

  public PreprocessSettings withOverride(boolean o) {
    return new PreprocessSettings(mean, std, rawScale, channelSwap, resize, crop, o);
  }

  /** The flags given, in the order of the pipeline. */
  public List<String> given() {
    List<String> g = new ArrayList<>();
    if (resize != null) g.add("--resize");
    if (crop != null) g.add("--crop");
    if (mean != null) g.add("--mean");
    if (std != null) g.add("--std");
    if (rawScale != null) g.add("--raw-scale");
    if (channelSwap != null) g.add("--channel-swap");
    return g;
  }

  /** The given geometric step alone (what the data sources apply), the defaults where not given. */
  public ImageGeometry geometry() {
    return new ImageGeometry(resize == null ? 0 : resize, crop == null ? 0 : crop[0], crop == null ? 0 : crop[crop.length - 1]);
  }

  /** The given pixel step alone, the defaults where not given. */
  public Preprocessing pixels() {
    return new Preprocessing(mean, std, rawScale == null ? 255f : rawScale, channelSwap);
  }

  /** Where the effective preprocessing came from, step by step taken as a whole. */
  public enum Origin {
    /** Every step given, or given where given and defaults elsewhere, with no record to follow. */
    GIVEN,
    /** The folder's record, with any given step that agrees with it (or overrides it). */
    RECORDED,
    /** Nothing given and nothing recorded: the defaults, which may not be what the model wants. */
    DEFAULTS
  }

  /** The preprocessing a stage applies: the geometric step (for the data source) and the pixel step. */
  public record Effective(ImageGeometry geometry, Preprocessing pixels, Origin origin) implements Serializable {}

  /**
   * The steps to apply: the given ones, and the recorded ones where none is given; a given step
   * that differs from the record is a one-line error unless {@link #override}.
   *
   * @param recorded the folder's record, or null (a float model, a folder of an earlier format)
   * @param where the folder, for the message
   */
  public Effective resolve(InputPreprocessing recorded, String where) {
    if (recorded == null || recorded.source() != InputPreprocessing.Source.PIXELS) {
      return new Effective(geometry(), pixels(), given().isEmpty() ? Origin.DEFAULTS : Origin.GIVEN);
    }
    ImageGeometry rg = recorded.geometry();
    Preprocessing rp = recorded.pixels();
    if (!override) {
      List<String> clash = new ArrayList<>();
      if (resize != null && resize != rg.resize()) clash.add("--resize " + resize + " (recorded: " + (rg.resize() == 0 ? "none" : rg.resize()) + ")");
      if (crop != null && (crop[0] != rg.cropHeight() || crop[crop.length - 1] != rg.cropWidth())) {
        clash.add("--crop " + join(crop) + " (recorded: " + (rg.cropHeight() == 0 ? "none" : rg.cropHeight() + "," + rg.cropWidth()) + ")");
      }
      if (mean != null && !same(mean, rp.mean())) clash.add("--mean " + join(mean) + " (recorded: " + join(rp.mean()) + ")");
      if (std != null && !same(std, rp.std())) clash.add("--std " + join(std) + " (recorded: " + join(rp.std()) + ")");
      if (rawScale != null && rawScale != rp.rawScale()) clash.add("--raw-scale " + fmt(rawScale) + " (recorded: " + fmt(rp.rawScale()) + ")");
      if (channelSwap != null && !Arrays.equals(channelSwap, rp.channelSwap())) {
        clash.add("--channel-swap " + join(channelSwap) + " (recorded: " + (rp.channelSwap() == null ? "none" : join(rp.channelSwap())) + ")");
      }
      if (!clash.isEmpty()) {
        throw new UserError(String.join(", ", clash) + (clash.size() == 1 ? " contradicts" : " contradict")
            + " the preprocessing recorded in " + where + "; leave " + (clash.size() == 1 ? "it" : "them")
            + " out to use the recorded steps, or pass --override-preprocessing");
      }
    }
    ImageGeometry g = new ImageGeometry(resize != null ? resize : rg.resize(),
        crop != null ? crop[0] : rg.cropHeight(), crop != null ? crop[crop.length - 1] : rg.cropWidth());
    Preprocessing p = new Preprocessing(mean != null ? mean : rp.mean(), std != null ? std : rp.std(),
        rawScale != null ? rawScale : rp.rawScale(), channelSwap != null ? channelSwap : rp.channelSwap());
    return new Effective(g, p, Origin.RECORDED);
  }

  /**
   * The warning for inputs made with the defaults that look unnormalized (raw 0..255 pixels fed
   * to a model trained on normalized ones is the usual mistake: top-1 near chance, no error), or
   * empty. {@code inputs} are the first inputs as the model would receive them.
   */
  public static java.util.Optional<String> unnormalizedWarning(float[] inputs, int count) {
    if (count == 0) return java.util.Optional.empty();
    double sum = 0, sq = 0;
    for (int i = 0; i < count; i++) sum += inputs[i];
    double mean = sum / count;
    for (int i = 0; i < count; i++) sq += (inputs[i] - mean) * (inputs[i] - mean);
    double std = Math.sqrt(sq / count);
    if (Math.abs(mean) <= UNNORMALIZED_MEAN && std <= UNNORMALIZED_STD) return java.util.Optional.empty();
    return java.util.Optional.of(String.format(java.util.Locale.ROOT, "no preprocessing given or recorded, and the first"
        + " inputs have mean %.4g and standard deviation %.4g: if the model was trained on normalized inputs, give"
        + " its --mean and --std (in 0..255 pixel units; --mean 0 --std 1 silences this warning)", mean, std));
  }

  /** The settings as JSON, for report.json's provenance: given steps only. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (resize != null) m.put("resize", resize);
    if (crop != null) m.put("crop", toList(crop));
    if (mean != null) m.put("mean", toList(mean));
    if (std != null) m.put("std", toList(std));
    if (rawScale != null) m.put("raw_scale", Double.parseDouble(Float.toString(rawScale)));
    if (channelSwap != null) m.put("channel_swap", toList(channelSwap));
    if (override) m.put("override_preprocessing", true);
    return m;
  }

  /** Equal per channel: {72.94} and {72.94, 72.94, 72.94} describe the same step. */
  private static boolean same(float[] a, float[] b) {
    if (a.length == b.length) return Arrays.equals(a, b);
    float[] one = a.length == 1 ? a : b.length == 1 ? b : null;
    float[] many = one == a ? b : a;
    if (one == null) return false;
    for (float v : many) if (v != one[0]) return false;
    return true;
  }

  private static boolean empty(float[] v) {
    return v == null || v.length == 0;
  }

  private static String join(float[] v) {
    StringBuilder b = new StringBuilder();
    for (float f : v) b.append(b.length() == 0 ? "" : ",").append(fmt(f));
    return b.toString();
  }

  private static String join(int[] v) {
    StringBuilder b = new StringBuilder();
    for (int x : v) b.append(b.length() == 0 ? "" : ",").append(x);
    return b.toString();
  }

  private static String fmt(float f) {
    return f == Math.rint(f) ? Long.toString((long) f) : Float.toString(f);
  }

  private static List<Object> toList(float[] v) {
    List<Object> r = new ArrayList<>();
    for (float f : v) r.add(Double.parseDouble(Float.toString(f)));
    return r;
  }

  private static List<Object> toList(int[] v) {
    List<Object> r = new ArrayList<>();
    for (int x : v) r.add(x);
    return r;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PreprocessSettings p && Arrays.equals(p.mean, mean) && Arrays.equals(p.std, std)
        && java.util.Objects.equals(p.rawScale, rawScale) && Arrays.equals(p.channelSwap, channelSwap)
        && java.util.Objects.equals(p.resize, resize) && Arrays.equals(p.crop, crop) && p.override == override;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(mean) * 31 + Arrays.hashCode(std);
  }

  @Override
  public String toString() {
    return "PreprocessSettings" + json();
  }
}
