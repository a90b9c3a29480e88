package io.qspark.archfixture.kernels;

import org.apache.spark.SparkConf;

/** A "kernels" class that uses Spark, for PackageStructureTest's negative case. */
public final class UsesSpark {
  public static SparkConf conf() {
    return new SparkConf();
  }
}
