package io.qspark.job.app;

import io.qspark.job.data.DataRequest;
import io.qspark.job.output.RunInputs;
import io.qspark.job.preprocess.ImageGeometry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which images a stage reads and how to read them (--data and its companions): an IDX file, an
 * image folder, Parquet, {@code table:NAME} or {@code synthetic:N[,SEED]}, on any Hadoop file
 * system; an IDX labels file; at most {@code limit} images (all when negative); C,H,W for data
 * that does not say; the columns of a table; and whether an undecodable image fails the run.
 * How pixels become model inputs is {@link io.qspark.job.preprocess.PreprocessSettings}.
 *
 * @param labels an IDX labels file, or null (beside the images)
 * @param dims C,H,W, or null (the data's own)
 * @param labelColumn null: "label" when the table has one, else unlabelled
 */
public record DataSettings(String location, String labels, int limit, int[] dims, String imageColumn, String labelColumn,
    boolean strict) {
  public DataSettings {
    if (location == null || location.isBlank()) throw new IllegalArgumentException("--data is empty");
    if (limit == 0 || limit < -1) throw new IllegalArgumentException("--limit must be at least 1, got " + limit);
    if (dims != null && (dims.length != 3 || Arrays.stream(dims).anyMatch(d -> d < 1))) {
      throw new IllegalArgumentException("--dims needs three positive numbers C,H,W, got " + Arrays.toString(dims));
    }
    dims = dims == null ? null : dims.clone();
    if (imageColumn == null) imageColumn = DataRequest.DEFAULT_IMAGE_COLUMN;
  }

  /** All images of {@code location}, labels beside them, default columns, undecodable images skipped. */
  public static DataSettings of(String location) {
    return new DataSettings(location, null, -1, null, null, null, false);
  }

  @Override
  public int[] dims() {
    return dims == null ? null : dims.clone();
  }

  public DataSettings withLimit(int n) {
    return new DataSettings(location, labels, n, dims, imageColumn, labelColumn, strict);
  }

  public DataSettings withLabels(String file) {
    return new DataSettings(location, file, limit, dims, imageColumn, labelColumn, strict);
  }

  /** The same reading settings for another data set (QAT's validation images). */
  public DataSettings at(String otherLocation, String otherLabels) {
    return new DataSettings(otherLocation, otherLabels, -1, dims, imageColumn, labelColumn, strict);
  }

  /** The first {@code n} images (or fewer, if the limit is lower already). */
  DataSettings first(int n) {
    return withLimit(limit < 0 ? n : Math.min(limit, n));
  }

  /** The request the data sources take, with the resize/crop step applied where pixels are decoded. */
  DataRequest request(ImageGeometry geometry) {
    return new DataRequest(location, labels, limit, dims, geometry, imageColumn, labelColumn, strict);
  }

  /** What the data settings read: the data and the labels file (files or folders; tables and synthetic data are neither). */
  public RunInputs inputs() {
    return inputs("--data", "--labels");
  }

  /** The same, named as the flags that gave them (QAT's --val-data, --val-labels). */
  public RunInputs inputs(String dataFlag, String labelsFlag) {
    return RunInputs.none().with(dataFlag, location).with(labelsFlag, labels);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("data", location);
    if (labels != null) m.put("labels", labels);
    if (limit >= 0) m.put("limit", limit);
    if (dims != null) m.put("dims", List.of(dims[0], dims[1], dims[2]));
    m.put("image_column", imageColumn);
    if (labelColumn != null) m.put("label_column", labelColumn);
    m.put("strict", strict);
    return m;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DataSettings d && d.location.equals(location) && java.util.Objects.equals(d.labels, labels)
        && d.limit == limit && Arrays.equals(d.dims, dims) && d.imageColumn.equals(imageColumn)
        && java.util.Objects.equals(d.labelColumn, labelColumn) && d.strict == strict;
  }

  @Override
  public int hashCode() {
    return location.hashCode() * 31 + limit;
  }

  @Override
  public String toString() {
    return "DataSettings" + json();
  }

  static List<Object> list(int[] v) {
    List<Object> r = new ArrayList<>();
    for (int x : v) r.add(x);
    return r;
  }
}
