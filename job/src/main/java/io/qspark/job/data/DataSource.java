package io.qspark.job.data;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A labelled image set as Spark sees it. Opening one checks it (on the driver, before any job
 * starts) so a bad file is a quick one-line error. Small sets (IDX) are read by the driver and
 * parallelized; large ones (image folders, Parquet on HDFS) will be read by the executors.
 */
public interface DataSource {
  /** One line for reports: what was read, how many images, of what shape, with which labels. */
  String describe();

  ImageLayout layout();

  long count();

  JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions);
}
