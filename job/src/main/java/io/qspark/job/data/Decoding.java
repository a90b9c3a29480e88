package io.qspark.job.data;

import io.qspark.job.preprocess.Pixels;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageGeometry;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.function.Function;

/**
 * Encoded images (file contents or a binary column) to {@link LabeledImage}s in tasks: decode,
 * shape; an undecodable one is skipped and counted or, when strict, fails the job naming it.
 */
public record Decoding(ImageShaping shaping, boolean strict, SkippedImages skipped) implements Serializable {
  /** Images the driver tries before it gives up finding out what a data set's images look like. */
  public static final int PROBES = 16;

  /** The image, or null when it was skipped. */
  public LabeledImage decode(String name, byte[] bytes, int label) {
    Pixels p;
    try {
      p = ImageDecoder.decode(bytes);
    } catch (IOException e) {
      if (strict) throw undecodable(name, e);
      skipped.add(name, e.getMessage());
      return null;
    }
    return shaping.shape(name, p, label);
  }

  static UserError undecodable(String name, IOException e) {
    return new UserError(name + " cannot be decoded: " + e.getMessage());
  }

  /**
   * On the driver: the first of some candidates that decodes, to learn the data set's channels
   * and size. Strict, the first failure is the error; otherwise all {@code PROBES} must fail.
   */
  public static <T> ImageShaping probe(Iterator<T> candidates, Function<T, String> name,
      IOFunction<T, byte[]> bytes, ImageGeometry geometry, boolean strict, String what) {
    return probePixels(candidates, name, c -> ImageDecoder.decode(bytes.apply(c)), geometry, strict, what);
  }

  /** As {@link #probe}, for candidates that decode themselves (Spark's image structs). */
  public static <T> ImageShaping probePixels(Iterator<T> candidates, Function<T, String> name,
      IOFunction<T, Pixels> pixels, ImageGeometry geometry, boolean strict, String what) {
    int tried = 0;
    String firstFailure = null;
    while (candidates.hasNext() && tried < PROBES) {
      T c = candidates.next();
      tried++;
      try {
        return ImageShaping.from(name.apply(c), pixels.apply(c), geometry);
      } catch (IOException e) {
        if (strict) throw undecodable(name.apply(c), e);
        if (firstFailure == null) firstFailure = name.apply(c) + ": " + e.getMessage();
      }
    }
    if (tried == 0) throw new UserError(what + " holds no images");
    throw new UserError((tried < PROBES ? "none of the " + tried : "none of the first " + tried)
        + " images of " + what + " can be decoded (" + firstFailure + ")");
  }

  /** A function that reads. */
  @FunctionalInterface
  public interface IOFunction<T, R> {
    R apply(T t) throws IOException;
  }
}
