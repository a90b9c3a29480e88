package io.qspark.job.data;

import io.qspark.job.preprocess.ImageGeometry;

/**
 * Which images to read, as the user asked: {@code data} is a path or URI (any Hadoop file
 * system) or {@code table:NAME}; an optional labels file (IDX); at most {@code limit} images
 * (all when negative); optional C,H,W for data that does not carry it; the resize/crop step,
 * applied where pixels are decoded; the columns of a table; and whether an undecodable image
 * fails the job ({@code strict}) or is skipped; and for Parquet and tables the column holding each
 * model input's values, by input name (empty: the image column feeds the model's one input).
 */
public record DataRequest(String data, String labels, int limit, int[] dims, ImageGeometry geometry,
    String imageColumn, String labelColumn, boolean strict, java.util.Map<String, String> inputColumns) {
  public static final String DEFAULT_IMAGE_COLUMN = "image";
  public static final String DEFAULT_LABEL_COLUMN = "label";

  public DataRequest {
    dims = dims == null ? null : dims.clone();
    if (geometry == null) geometry = ImageGeometry.NONE;
    if (imageColumn == null) imageColumn = DEFAULT_IMAGE_COLUMN;
    inputColumns = inputColumns == null ? java.util.Map.of()
        : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(inputColumns));
  }

  /** A request that reads the image column. */
  public DataRequest(String data, String labels, int limit, int[] dims, ImageGeometry geometry, String imageColumn,
      String labelColumn, boolean strict) {
    this(data, labels, limit, dims, geometry, imageColumn, labelColumn, strict, java.util.Map.of());
  }

  /** An IDX-style request: no geometry, default columns, lenient. */
  public DataRequest(String data, String labels, int limit, int[] dims) {
    this(data, labels, limit, dims, ImageGeometry.NONE, null, null, false);
  }

  @Override
  public int[] dims() {
    return dims == null ? null : dims.clone();
  }
}
