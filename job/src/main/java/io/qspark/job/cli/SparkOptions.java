package io.qspark.job.cli;

import io.qspark.job.spark.SparkSettings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** --master and --partitions, shared by every command that runs a Spark job. */
public final class SparkOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--master", paramLabel = "URL", order = 40,
      description = "Spark master. Default: the one spark-submit gives, else local[*] (every core here).")
  String master;

  @Option(names = "--partitions", paramLabel = "P", order = 41,
      description = "Partitions of the image set: at most the number of images, and at most "
          + SparkSettings.MAX_PARTITIONS + ". Default: one per " + SparkSettings.IMAGES_PER_PARTITION
          + " images of 28x28 (fewer for larger inputs, at least " + SparkSettings.MIN_IMAGES_PER_PARTITION
          + "), a multiple of Spark's default parallelism.")
  Integer partitions;

  public SparkSettings settings() {
    if (partitions != null && partitions < 1) {
      throw new ParameterException(spec.commandLine(), "--partitions must be at least 1, got " + partitions);
    }
    return Mapping.settings(spec, () -> new SparkSettings(master, partitions == null ? 0 : partitions));
  }
}
