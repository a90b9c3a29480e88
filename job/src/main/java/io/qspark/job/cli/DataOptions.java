package io.qspark.job.cli;

import io.qspark.job.app.DataSettings;
import io.qspark.job.data.DataRequest;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** --data and how to read it: which labelled images a command reads. */
public final class DataOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  // a String, not a Path: hdfs://nn/x would lose a slash as a java.nio Path
  @Option(names = "--data", required = true, paramLabel = "DATA", order = 10,
      description = {"The images, one of:",
          "  an IDX file, gzipped or not (t10k-images-idx3-ubyte.gz);",
          "  a folder of PNG/JPEG files, DIR/<class>/*.png with labels in sorted class-folder order, or"
              + " unlabelled directly in DIR; all get the first file's channels (1 if gray, else 3: RGB);",
          "  Parquet: a *.parquet file or a folder of part files;",
          "  table:NAME, a table in Spark's catalog;",
          "  synthetic:N[,SEED], N random images (pixels uniform in 0..255, labels random) in the model's input"
              + " shape (or --dims), made in the tasks: for timing runs without a dataset. Same SEED (default 0),"
              + " same images.",
          "Paths may be hdfs://, s3a://, file:// or any Hadoop file system; without a scheme they are on the"
              + " default one (fs.defaultFS), as in spark.read."})
  String data;

  @Option(names = "--labels", paramLabel = "LABELS", order = 11,
      description = "IDX labels file. Default: the *labels-idx1-ubyte* file beside --data.")
  String labels;

  @Option(names = "--limit", paramLabel = "N", order = 12,
      description = "Use only the first N images (image folders: in sorted path order). Default: all.")
  Integer limit;

  @Option(names = "--image-column", paramLabel = "COL", defaultValue = DataRequest.DEFAULT_IMAGE_COLUMN, order = 13,
      description = "Parquet and tables: the image column: array<float> of model inputs (C,H,W, already"
          + " preprocessed), binary PNG/JPEG, or raw 0..255 pixels (array<int> or binary, planar C,H,W)"
          + " with --dims. Default: ${DEFAULT-VALUE}.")
  String imageColumn;

  @Option(names = "--label-column", paramLabel = "COL", order = 14,
      description = "Parquet and tables: the integer label column. Default: '" + DataRequest.DEFAULT_LABEL_COLUMN
          + "' if there is one, else the images are unlabelled.")
  String labelColumn;

  @Option(names = "--strict", order = 15,
      description = "Fail on the first image that cannot be decoded. Default: skip such images and report how"
          + " many at the end.")
  boolean strict;

  /** --data and its companions as settings; {@code dims} is --dims (checked by the preprocessing options). */
  public DataSettings settings(int[] dims) {
    return Mapping.settings(spec, () -> new DataSettings(data, labels, limit == null ? -1 : limit, dims, imageColumn,
        labelColumn, strict));
  }
}
