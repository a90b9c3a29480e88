package io.qspark.job.data;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import java.util.Optional;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A labelled image set as Spark sees it. Opening one checks it (on the driver, before any job
 * starts) so a bad file is a quick one-line error. Small sets (IDX) are read by the driver and
 * parallelized; large ones (image folders, Parquet, tables) are read by the executors.
 */
public interface DataSource {
  /** One line for reports: what was read, how many images, of what shape, with which labels. */
  String describe();

  /**
   * How the images of {@link #images} are stored. For {@link #preprocessed} data, the shape of
   * the values (1 x 1 x n when the data does not say).
   */
  ImageLayout layout();

  /**
   * A digest that names this data set, for provenance: of the images and labels themselves where
   * the driver holds them (IDX), else of what identifies them (file listing, table, generator).
   */
  Digest digest();

  /** A SHA-256 and what it covers ("images and labels", "file paths and labels", ...). */
  record Digest(String sha256, String covers) {
    static Digest of(String covers, java.util.function.Consumer<java.security.MessageDigest> content) {
      try {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        content.accept(md);
        return new Digest(java.util.HexFormat.of().formatHex(md.digest()), covers);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    static Digest ofText(String covers, String text) {
      return of(covers, md -> md.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    public java.util.Map<String, Object> json() {
      java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("sha256", sha256);
      m.put("of", covers);
      return m;
    }
  }

  /** Images to be read (before any undecodable ones are skipped). */
  long count();

  JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions);

  /** True when images carry model inputs (values) rather than pixels: preprocessing does not apply. */
  default boolean preprocessed() {
    return false;
  }

  /**
   * Fails (one line, naming what to fix) unless every image has a label and the data's own
   * class list, if it has one, fits a model of {@code classes} classes.
   */
  default void requireLabels(int classes) {}

  /**
   * The names {@link #images} gives its images, when the driver knows them without reading the
   * data (image folders: the listed files); empty when only the tasks see them.
   */
  default Optional<java.util.List<String>> imageNames() {
    return Optional.empty();
  }

  /** After a job over {@link #images}: a warning about images that were skipped, if any were. */
  default Optional<String> skippedWarning() {
    return Optional.empty();
  }
}
