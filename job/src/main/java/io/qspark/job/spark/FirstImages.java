package io.qspark.job.spark;

import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;

/** The first few images of a data set, read as the executors read them (a small job over its first partition). */
public final class FirstImages {
  private FirstImages() {}

  public static List<LabeledImage> take(JavaSparkContext sc, DataSource data, int n) {
    sc.setJobGroup("qspark", "first " + n + " images", false);
    try {
      return data.images(sc, 1).take(n);
    } catch (Exception e) { // SparkException is thrown undeclared from Scala
      throw EvaluationJob.translate(e);
    } finally {
      sc.clearJobGroup();
    }
  }
}
