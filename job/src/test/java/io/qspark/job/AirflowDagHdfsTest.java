package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.cli.AirflowDagTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Airflow DAG's stages, rendered as AirflowDagTest renders them, run end to end through
 * the job's main against an HDFS in this JVM: the model, the data and every output on hdfs://
 * (the DAG's hdfs:/// paths pointed at the test's name node), each stage reading what the one
 * before it wrote, exit code 0 for each. The bundled 1,000 test images stand in for the DAG's
 * training and test sets.
 */
@Tag("slow")
@Timeout(value = 40, unit = TimeUnit.MINUTES)
class AirflowDagHdfsTest {
  @TempDir Path dir;

  @Test
  void everyStageRunsOnHdfs() throws Exception {
    try (MiniHdfs hdfs = new MiniHdfs(dir.resolve("hdfs"))) {
      Path fashion = Run.samples().resolve("fashion-mnist-1k");
      hdfs.upload(Path.of(Run.sampleModel()), "/qspark/models/resnet_s.onnx");
      hdfs.upload(fashion.resolve("t10k-images-idx3-ubyte.gz"), "/qspark/data/fashion-mnist/train-images-idx3-ubyte.gz");
      hdfs.upload(fashion.resolve("t10k-labels-idx1-ubyte.gz"), "/qspark/data/fashion-mnist/train-labels-idx1-ubyte.gz");
      hdfs.upload(fashion.resolve("t10k-images-idx3-ubyte.gz"), "/qspark/data/fashion-mnist/t10k-images-idx3-ubyte.gz");
      hdfs.upload(fashion.resolve("t10k-labels-idx1-ubyte.gz"), "/qspark/data/fashion-mnist/t10k-labels-idx1-ubyte.gz");
      String ds = "2026-11-24";
      // the cluster's master as spark-submit would give it (deploy takes no --master: it runs no Spark)
      System.setProperty("spark.master", "local[2]");
      try {
        for (Map.Entry<String, List<String>> stage : AirflowDagTest.stages(ds, "0.5").entrySet()) {
          List<String> args = new ArrayList<>();
          for (String a : stage.getValue()) args.add(a.replace("hdfs:///", hdfs.root + "/"));
          Run r = Run.of(args.toArray(String[]::new));
          assertEquals(0, r.code(), stage.getKey() + ": " + String.join(" ", args) + "\n" + r.err());
          assertTrue(hdfs.fs().exists(new org.apache.hadoop.fs.Path("/qspark/runs/" + ds + "/" + stage.getKey())),
              stage.getKey() + " wrote its folder on HDFS");
        }
      } finally {
        System.clearProperty("spark.master");
      }
    }
  }
}
