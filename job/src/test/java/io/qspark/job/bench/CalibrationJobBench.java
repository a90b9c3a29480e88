package io.qspark.job.bench;

import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.preprocess.ImageGeometry;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Calibration throughput as the job sees it: the statistics pass (decode, preprocess, forward,
 * histograms of every activation point, treeAggregate) against a float forward pass over the
 * same images by the evaluate job (decode, preprocess, forward, top-1 counts, treeAggregate),
 * in one local[2] Spark session, alternating, so that both pay the same data path and Spark
 * overheads. JVM and Spark start are outside both. Issue target: statistics >= 0.70 x float.
 *
 * <p>mvn -o -q -Pbench test -pl job -Dtest=CalibrationJobBench [-Dqspark.bench.images=2000]
 */
@Tag("bench")
class CalibrationJobBench {
  private static final String[] MODELS = {"resnet_s.onnx", "mbv2_s.onnx"};

  @Test
  void statisticsPassVsFloatForward() throws Exception {
    int n = Integer.getInteger("qspark.bench.images", 2000);
    int rounds = Integer.getInteger("qspark.bench.rounds", 3);
    Path shared = Path.of(System.getProperty("user.dir")).resolve("../../shared/models").normalize();
    String train = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
    StringBuilder b = new StringBuilder("## Calibration job throughput, local[2], ").append(n)
        .append(" Fashion-MNIST training images, batch 64, medians of ").append(rounds).append(" alternating runs\n\n")
        .append("| model | float forward (evaluate job), images/s | statistics pass (calibrate job), images/s | ratio |\n")
        .append("|---|---:|---:|---:|\n");
    try (LazySpark spark = new LazySpark("qspark bench", new SparkSettings("local[2]", 0))) {
      JavaSparkContext sc = spark.runtime().context();
      for (String file : MODELS) {
        Path modelPath = shared.resolve(file);
        Model m = Model.load(modelPath).forInference();
        ModelBlob blob = ModelBlob.of(modelPath);
        DataSource data = DataSources.open(new DataRequest(train, null, n, null, ImageGeometry.NONE,
            DataRequest.DEFAULT_IMAGE_COLUMN, null, false), spark, io.qspark.job.model.ModelSignature.of(m));
        ScoringPlan plan = ScoringPlan.of(new Preprocessing(new float[] {72.94f}, new float[] {90.02f}, 255f, null),
            data.layout(), Classifier.of(m), 64);
        int partitions = 2;
        // warm-up: JIT and the per-JVM model cache for both passes
        EvaluationJob.run(sc, data, blob, plan, partitions);
        CalibrationJob.statistics(sc, data, blob, plan, QuantConfig.defaults(), partitions);
        List<Double> fl = new ArrayList<>(), st = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          long t0 = System.nanoTime();
          EvaluationJob.run(sc, data, blob, plan, partitions);
          long t1 = System.nanoTime();
          CalibrationJob.statistics(sc, data, blob, plan, QuantConfig.defaults(), partitions);
          long t2 = System.nanoTime();
          fl.add(n / ((t1 - t0) / 1e9));
          st.add(n / ((t2 - t1) / 1e9));
        }
        double f = median(fl), s = median(st);
        b.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f |%n", file.replace(".onnx", ""), f, s, s / f));
      }
    }
    b.append("\nload average after: ").append(Files.readString(Path.of("/proc/loadavg")).trim()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "calibration-job.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  private static double median(List<Double> v) {
    double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }
}
